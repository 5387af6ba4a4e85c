// The two parts of the rules form written by hand, where a form generated from the schema would be
// poor: opening hours (a week of intervals, closed days, a zone) and the bot menu (a tree of items to
// add, remove and reorder, each of which answers, opens a page, hands off or opens a submenu).

import {el} from './charts.js';
import {DAYS, arrayButtons, blank, button, fieldBox, idOf, localZone, problemLine, scalarField} from './rules-form.js';

// -- opening hours -------------------------------------------------------------------------

function setDay(hours, day, intervals) {
  const weekly = Object.assign({}, hours.weekly, {[day]: intervals});
  hours.weekly = Object.fromEntries(DAYS.map(([d]) => [d, weekly[d]]).filter(([, list]) => list && list.length));
}

function zones() {
  const list = el('datalist', {id: 'tz-zones'});
  const names = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [localZone()];
  for (const name of ['UTC', ...names]) list.append(el('option', {value: name}));
  return list;
}

// '09:00-17:30' as two 24-hour times (a time input would say 12:00 AM for both ends of a whole day).
function timeInput(id, label, value) {
  return Object.assign(el('input', {type: 'text', id, 'aria-label': label, class: 'time', inputmode: 'numeric',
    maxlength: '5', placeholder: 'hh:mm', spellcheck: 'false', autocomplete: 'off'}), {value: value || ''});
}

function interval(ctx, hours, day, dayName, index, dayPath) {
  const intervals = hours.weekly[day];
  const path = `${dayPath}.${index}`;
  const [from, to] = String(intervals[index] || '').split('-');
  const box = el('span', {class: 'interval', 'data-path': path});
  const start = timeInput(idOf(path, 'start'), `${dayName}, opens at`, from);
  const end = timeInput(idOf(path, 'end'), `${dayName}, closes at`, to);
  const write = () => { intervals[index] = `${start.value.trim()}-${end.value.trim()}`; };
  start.addEventListener('input', write);
  end.addEventListener('input', write);
  box.append(start, el('span', {'aria-hidden': 'true'}, '–'), end,
    button('✕', {'aria-label': `Remove ${dayName}'s hours ${intervals[index]}`, class: 'quiet small danger'}, () => {
      intervals.splice(index, 1);
      setDay(hours, day, intervals);
      ctx.redraw(`${dayPath}:open`);
    }), problemLine());
  return box;
}

function week(ctx, hours, path) {
  if (!hours.weekly || typeof hours.weekly !== 'object') hours.weekly = {};
  const box = el('div', {class: 'week', 'data-path': `${path}.weekly`});
  box.append(el('div', {class: 'list-title'}, 'Weekly hours'), el('small', {class: 'help'},
    '24-hour times in the site’s zone; a day with no hours is closed. 24:00 closes at midnight; a night shift is ' +
    'two intervals on two days.'),
  problemLine());
  for (const [day, dayName] of DAYS) {
    const dayPath = `${path}.weekly.${day}`;
    const intervals = hours.weekly[day] || [];
    const row = el('div', {class: 'day', 'data-path': dayPath});
    const open = el('input', {type: 'checkbox', id: idOf(dayPath, 'open'), 'data-focus': `${dayPath}:open`});
    open.checked = intervals.length > 0;
    open.addEventListener('input', () => {
      setDay(hours, day, open.checked ? ['09:00-17:00'] : null);
      ctx.redraw(`${dayPath}:open`);
    });
    const spans = el('div', {class: 'intervals'});
    if (!open.checked) spans.append(el('span', {class: 'closed'}, 'Closed'));
    intervals.forEach((_, index) => spans.append(interval(ctx, hours, day, dayName, index, dayPath)));
    if (open.checked) {
      spans.append(button('+ Hours', {'aria-label': `Add opening hours on ${dayName}`, 'data-focus': `${dayPath}:add`},
        () => {
          const last = intervals.length ? intervals[intervals.length - 1].split('-')[1] : '09:00';
          intervals.push(last < '23:00' ? `${last}-${last < '18:00' ? '18:00' : '24:00'}` : '09:00-17:00');
          ctx.redraw(`${dayPath}:add`);
        }));
    }
    row.append(open, el('label', {for: open.id, class: 'day-name'}, dayName), spans, problemLine());
    box.append(row);
  }
  box.append(button('Copy Monday to Tuesday–Friday', {'data-focus': `${path}:copy`}, () => {
    for (const [day] of DAYS.slice(1, 5)) setDay(hours, day, (hours.weekly.mon || []).slice());
    ctx.redraw(`${path}:copy`);
  }));
  return box;
}

function closedDates(ctx, hours, path) {
  if (!Array.isArray(hours.closed_dates)) hours.closed_dates = [];
  const dates = hours.closed_dates;
  const listPath = `${path}.closed_dates`;
  const box = el('div', {class: 'list dates', 'data-path': listPath});
  box.append(el('div', {class: 'list-title'}, 'Closed days'),
    el('small', {class: 'help'}, 'Public holidays and other days off, in the local calendar.'), problemLine());
  const ol = el('ol', {class: 'items'});
  dates.forEach((date, index) => {
    const li = el('li', {class: 'date', 'data-path': `${listPath}.${index}`});
    const input = el('input', {type: 'date', id: idOf(`${listPath}.${index}`),
      'aria-label': `Closed day ${index + 1}`});
    input.value = date;
    input.addEventListener('input', () => { dates[index] = input.value; });
    li.append(input, button('✕', {'aria-label': `Remove closed day ${date}`, class: 'quiet small danger'}, () => {
      dates.splice(index, 1);
      ctx.redraw(`${listPath}:add`);
    }), problemLine());
    ol.append(li);
  });
  box.append(ol, button('+ Add a closed day', {'data-focus': `${listPath}:add`}, () => {
    dates.push(new Date().toISOString().slice(0, 10));
    ctx.redraw(`${listPath}.${dates.length - 1}`);
  }));
  return box;
}

export function hoursWidget(ctx, slot, key, path) {
  const set = el('fieldset', {'data-path': path, class: 'hours'});
  const on = el('input', {type: 'checkbox', id: idOf(path, 'on'), 'data-focus': `${path}:on`});
  on.checked = slot[key] !== null && slot[key] !== undefined;
  const legend = el('legend');
  legend.append(on, el('label', {for: on.id}, 'Opening hours'));
  set.append(legend, problemLine());
  on.addEventListener('input', () => {
    slot[key] = on.checked ? blank(ctx.root, {$ref: '#/$defs/BusinessHours'}) : null;
    ctx.redraw(`${path}:on`);
  });
  if (!on.checked) {
    set.append(el('p', {class: 'help'}, 'Off: a person may answer at any hour. Tick it to say when your team ' +
      'answers; outside those hours visitors get what “When no person can answer” says.'));
    return set;
  }
  const hours = slot[key];
  set.append(el('p', {class: 'help'}, 'When a person can answer, in the site’s own time zone (summer time ' +
    'included). Outside these hours visitors get what “When no person can answer” says.'));
  const zone = el('input', {type: 'text', id: idOf(`${path}.timezone`), list: 'tz-zones', spellcheck: 'false',
    autocomplete: 'off', placeholder: 'UTC'});
  zone.value = hours.timezone || '';
  zone.addEventListener('input', () => { hours.timezone = zone.value.trim(); });
  set.append(fieldBox(`${path}.timezone`, 'Time zone', zone, 'An IANA name, e.g. Europe/Berlin.'), zones(),
    week(ctx, hours, path), closedDates(ctx, hours, path));
  return set;
}

// -- the bot menu --------------------------------------------------------------------------

const DOES = [['answer', 'answers with a text'], ['url', 'opens a page'], ['handoff', 'hands over to a person'],
  ['children', 'opens a submenu']];

function kindOf(item) {
  if (item.children && item.children.length) return 'children';
  if (item.handoff) return 'handoff';
  if ((item.answer === null || item.answer === undefined) && item.url !== null && item.url !== undefined) return 'url';
  return 'answer';
}

function reshape(item, kind, root) {
  const keepAnswer = item.answer === null || item.answer === undefined ? '' : item.answer;
  const keepUrl = item.url === null || item.url === undefined ? '' : item.url;
  Object.assign(item, {handoff: kind === 'handoff', answer: kind === 'answer' ? keepAnswer : null,
    url: kind === 'url' ? keepUrl : kind === 'answer' ? item.url || null : null,
    children: kind === 'children' ? [blank(root, {$ref: '#/$defs/MenuItem'})] : []});
}

function menuItem(ctx, items, index, base, depth) {
  const item = items[index];
  const path = `${base}.${index}`;
  const number = `${base.endsWith('items') ? '' : 'sub'}item ${index + 1}`;
  const li = el('li', {class: 'item menu-item', 'data-path': path});
  const head = el('div', {class: 'item-head'});
  head.append(el('span', {class: 'item-title'}, item.label || `(${number} has no label)`),
    arrayButtons(ctx, items, index, base, `“${item.label || number}”`));
  li.append(head, problemLine());
  const label = el('input', {type: 'text', id: idOf(`${path}.label`), maxlength: '80',
    placeholder: 'what the visitor clicks'});
  label.value = item.label || '';
  label.addEventListener('input', () => {
    item.label = label.value;
    head.firstChild.textContent = label.value || `(${number} has no label)`;
  });
  const does = el('select', {id: idOf(path, 'does'), 'data-focus': `${path}:does`});
  for (const [value, text] of DOES) does.append(el('option', {value}, text));
  const kind = kindOf(item);
  does.value = kind;
  does.addEventListener('input', () => {
    reshape(item, does.value, ctx.root);
    ctx.redraw(`${path}:does`);
  });
  li.append(fieldBox(`${path}.label`, 'Label', label), fieldBox(`${path}.handoff`, 'When clicked, it', does));
  if (kind === 'answer') {
    li.append(scalarField(ctx, item, 'answer', {type: 'string', maxLength: 1000}, `${path}.answer`, 'Answer', '', true),
      scalarField(ctx, item, 'url', {type: 'string'}, `${path}.url`, 'Link (optional)',
        'a help page shown with the answer', true));
  } else if (kind === 'url') {
    li.append(scalarField(ctx, item, 'url', {type: 'string'}, `${path}.url`, 'Page', 'e.g. /help/returns', true));
  } else if (kind === 'handoff') {
    li.append(el('p', {class: 'help'}, 'Shown only while a person can answer (open, an agent online), with the ' +
      'expected wait.'));
  } else {
    li.append(menuList(ctx, item, 'children', `${path}.children`, depth + 1));
  }
  return li;
}

function menuList(ctx, slot, key, path, depth) {
  if (!Array.isArray(slot[key])) slot[key] = [];
  const items = slot[key];
  const box = el('div', {class: `list menu depth-${Math.min(depth, 3)}`, 'data-path': path});
  if (depth > 0) box.append(el('div', {class: 'list-title'}, 'Submenu'), problemLine());
  const ol = el('ol', {class: 'items'});
  items.forEach((_, index) => ol.append(menuItem(ctx, items, index, path, depth)));
  box.append(ol, button(depth ? '+ Add to this submenu' : '+ Add a menu item', {'data-focus': `${path}:add`}, () => {
    items.push(blank(ctx.root, {$ref: '#/$defs/MenuItem'}));
    ctx.redraw(`${path}.${items.length - 1}.label`);
  }));
  return box;
}

export function menuWidget(ctx, slot, key, path) {
  const box = el('div', {class: 'menu-editor', 'data-path': path});
  box.append(el('div', {class: 'list-title'}, 'Menu'), el('small', {class: 'help'},
    'What the bot offers, in this order. An item answers, opens a page, hands over to a person, or opens a ' +
    'submenu of more items.'), problemLine(), menuList(ctx, slot, key, path, 0));
  box.lastChild.removeAttribute('data-path');  // the menu's own problems go to the line above
  return box;
}
