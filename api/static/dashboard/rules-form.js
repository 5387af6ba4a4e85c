// The rules form: a widget for every option of the site config, generated from its JSON Schema, with
// hand-made widgets where a generated one would be poor (opening hours, the bot menu). Every widget
// edits the draft document in place; a change of shape (an item added, moved or removed) redraws the
// whole form from the draft, so the draft is the only state. Each widget carries data-path, the
// field path the API names in its problems, and a .problem line for them.

import {el} from './charts.js';

// Labels and help a marketer reads, by `Model.property` (the schema's $defs) or by property name.
const LABELS = {
  'SiteConfig.allowed_origins': 'Origins, one per line', 'SiteConfig.page_groups': 'Groups',
  include_paths: 'Invite on pages', exclude_paths: 'Never on pages', audience: 'Who may be invited',
  min_dwell_s: 'Time on site first (s)', min_pages: 'Pages viewed first', score_threshold: 'Score threshold',
  'Timing.sustain_s': 'Score held for (s)', burst: 'A burst of struggle invites sooner',
  expires_in_s: 'Invitation shown for (s)', features_at_least: 'When every one of these is at least',
  'Burst.sustain_s': 'Held for (s)',
  max_per_session: 'Invitations per session', max_per_day: 'Invitations per visitor a day',
  dismiss_cooldown_s: 'Quiet after a “no” (s)', min_gap_s: 'Gap between invitations (s)',
  honour_dnt: 'Honour Do Not Track', honour_gpc: 'Honour Global Privacy Control',
  max_chats_per_agent: 'Chats at once per agent', max_chats_per_new_agent: 'Chats at once per new agent',
  reservation: 'An unanswered invitation holds', average_chat_s: 'Average chat length (s)',
  ranking: 'Scarce slots go to', when_no_capacity: 'Open, but no agent has room', when_closed: 'Outside opening hours',
  bot: 'Bot menu', offline: 'Offline message', greeting: 'Greeting', 'OfflineForm.message': 'Message',
  leave_message: 'Offer the leave-a-message form', rules: 'Message rules',
  default: 'Everywhere else', 'MessageRule.paths': 'On pages', variants: 'Variants (A/B test)',
  'Variant.id': 'Id', 'Variant.text': 'Text', 'Variant.weight': 'Weight',
  holdout: 'Holdout share', rollout: 'Rollout share', exploration: 'Exploration share',
  exploration_floor: 'Exploration floor', salt: 'Salt',
  'Condition.all': 'All of these hold', 'Condition.any': 'At least one of these holds',
  'Condition.none': 'None of these holds', device: 'Device', 'Condition.visitor': 'New or returning',
  referrer: 'Referrer', utm: 'Campaign (UTM)', custom_event: 'Custom event',
  equals: 'Equals', contains: 'Contains', glob: 'Matches the glob', domain: 'Domain or its subdomains',
  present: 'Given', 'EventCount.name': 'Event name', min_count: 'At least (times)',
  max_count: 'At most (times)',
};
const SECTIONS = {
  allowed_origins: 'Where the tracker may run', targeting: 'Pages and audience', timing: 'When to invite',
  respect: 'Caps and cool-downs', hours: 'Opening hours', capacity: 'Agent capacity',
  fallback: 'When no person can answer', messages: 'Invitation messages', experiment: 'Experiment',
  page_groups: 'Page groups',
};
const HELP = {
  'SiteConfig.allowed_origins': 'scheme://host[:port] of the pages that may send events; * allows any.',
  include_paths: 'Path globs, one per line: * stays within a segment, ** crosses segments.',
  exclude_paths: 'Wins over the pages above.',
  audience: 'Every condition set here must hold. With none, everyone may be invited.',
  when_no_capacity: 'During opening hours, when every agent is busy or none is online.',
  burst: 'Three kinds of struggle at once say more than a score: the score then need not hold as long.',
  rules: 'For the page a visitor is on, the first rule whose pages match says what the invitation says; put the ' +
    'most specific rules first.',
  'MessageRule.paths': 'Path globs, one per line.', 'Variant.weight': 'Its share against the other variants.',
  default: 'What the invitation says on pages no rule matches.',
  reservation: 'Until the visitor answers it or it expires, a shown agent invitation keeps back this much of a slot.',
  ranking: 'When slots are scarce, who is invited first. Most benefit weighs the score, how hard the visitor ' +
    'struggles right now and whether they are about to leave.',
  referrer: 'The page outside the site that brought the visitor. Every test set must hold; case does not matter.',
  'utm.value': 'Every test set must hold; case does not matter.',
  custom_event: 'How often the site’s own event of this name (tactful("event", name)) happened this visit.',
  leave_message: null, when_closed: null,
  'SiteConfig.page_groups': 'The first group, in this order, with a matching glob names a page for the model and ' +
    'the reports. Names: letters, digits, _ and -.',
};
const OPTIONS = {
  bot: 'the bot menu', offline: 'the offline message', suppress: 'nothing (wait for a free agent)',
  expected: 'its chance of being accepted, of a slot', full: 'a whole slot', benefit: 'who benefits most',
  score: 'the highest score', first_come: 'whoever comes first', new: 'new visitors', returning: 'returning visitors',
};
const ENTRY_WORDS = {features_at_least: ['Feature', 'At least', 'feature'], utm: ['Parameter', 'Matches', 'parameter'],
  page_groups: ['Name', 'Pages', 'group']};
const SINGULAR = {MessageRule: 'Rule', Variant: 'Variant', Condition: 'Condition'};
export const DAYS = [['mon', 'Monday'], ['tue', 'Tuesday'], ['wed', 'Wednesday'], ['thu', 'Thursday'],
  ['fri', 'Friday'], ['sat', 'Saturday'], ['sun', 'Sunday']];

// New values where the schema's defaults would not make a useful start.
const BLANKS = {
  Burst: () => ({features_at_least: {struggle_kinds: 3}, sustain_s: 0}),
  BusinessHours: () => ({timezone: localZone(), closed_dates: [],
    weekly: Object.fromEntries(DAYS.slice(0, 5).map(([day]) => [day, ['09:00-17:00']]))}),
  Variant: (siblings) => ({id: freeName('variant', (siblings || []).map((v) => v.id)), text: '', weight: 1}),
  MessageRule: () => ({paths: ['/'], variants: [{id: 'variant-1', text: '', weight: 1}]}),
  MenuItem: () => ({label: '', answer: '', url: null, handoff: false, children: []}),
  EventCount: () => ({name: '', min_count: 1, max_count: null}),
};
const BLANK_TESTS = {present: () => true};
const BLANK_PROPS = {device: () => ['mobile', 'tablet', 'desktop'], visitor: () => 'returning',
  all: () => [{}], any: () => [{}], none: () => [{}]};

export function localZone() {
  try { return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'; } catch { return 'UTC'; }
}

function freeName(stem, taken) {
  let n = taken.length + 1;
  while (taken.includes(`${stem}-${n}`)) n += 1;
  return `${stem}-${n}`;
}

function words(name) {
  const text = name.replace(/_s$/, ' (s)').replace(/_/g, ' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export function labelOf(owner, name) {
  return LABELS[`${owner}.${name}`] || LABELS[name] || words(name);
}

function helpOf(owner, name, schema) {
  const own = HELP[`${owner}.${name}`] !== undefined ? HELP[`${owner}.${name}`] : HELP[name];
  const text = own !== undefined ? own || '' : schema.description || '';
  return text.replace(/``/g, '');
}

export function idOf(path, suffix) {
  return 'f-' + path.replace(/\W/g, '-') + (suffix ? '-' + suffix : '');
}

// A schema with its $ref followed, and the name of the model it is ($defs key), if any.
function resolve(schema, root) {
  let def = null;
  while (schema && schema.$ref) {
    def = schema.$ref.split('/').pop();
    schema = root.$defs[def];
  }
  return [schema || {}, def];
}

// The non-null branch of `X | None`, or null when the schema is not nullable.
function nonNull(schema) {
  if (!schema.anyOf || !schema.anyOf.some((s) => s.type === 'null')) return null;
  return schema.anyOf.find((s) => s.type !== 'null') || null;
}

function isScalar(schema) {
  return Boolean(schema.enum) || ['boolean', 'number', 'integer', 'string'].includes(schema.type);
}

export function blank(root, raw, siblings) {
  const [schema, def] = resolve(raw, root);
  if (def && BLANKS[def]) return BLANKS[def](siblings);
  const inner = nonNull(schema);
  if (inner) return blank(root, inner, siblings);
  if ('default' in schema) return structuredClone(schema.default);
  if (schema.enum) return schema.enum[0];
  if (schema.type === 'boolean') return false;
  if (schema.type === 'number' || schema.type === 'integer') return schema.minimum || 0;
  if (schema.type === 'string') return '';
  if (schema.type === 'array') return [];
  if (schema.properties) {
    // An optional property (`X | None = None`) starts unset; one with a default factory gets its own blank.
    return Object.fromEntries(Object.entries(schema.properties).map(([name, prop]) =>
      [name, nonNull(prop) && prop.default === null ? null : blank(root, prop)]));
  }
  return {};
}

export function button(text, attrs, onClick) {
  const node = el('button', Object.assign({type: 'button', class: 'quiet small'}, attrs), text);
  node.addEventListener('click', onClick);
  return node;
}

export function problemLine() {
  return el('small', {class: 'problem', role: 'alert'});
}

// ↑ ↓ ✕ for entry `index` of `count`: `move(to)` and `remove()` change the draft, then the form is
// redrawn with focus back on the same kind of button.
function orderButtons(ctx, count, index, base, noun, move, remove) {
  const bar = el('span', {class: 'item-buttons'});
  const step = (to, way) => button(way === 'up' ? '↑' : '↓',
    {'aria-label': `Move ${noun} ${way}`, 'data-focus': `${base}#${index}:${way}`}, () => {
      move(to);
      ctx.redraw(`${base}#${to}:${way}`);
    });
  const up = step(index - 1, 'up');
  const down = step(index + 1, 'down');
  up.disabled = index === 0;
  down.disabled = index === count - 1;
  const gone = button('✕', {'aria-label': `Remove ${noun}`, class: 'quiet small danger'}, () => {
    remove();
    ctx.redraw(`${base}:add`);
  });
  bar.append(up, down, gone);
  return bar;
}

export function arrayButtons(ctx, items, index, base, noun) {
  return orderButtons(ctx, items.length, index, base, noun, (to) => {
    const [item] = items.splice(index, 1);
    items.splice(to, 0, item);
  }, () => items.splice(index, 1));
}

// -- scalars -------------------------------------------------------------------------------

const DURATIONS = [[86400, 'day'], [3600, 'hour'], [60, 'minute']];

function duration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 60) return '';
  for (const [size, unit] of DURATIONS) {
    if (seconds >= size) {
      const count = Math.round((seconds / size) * 10) / 10;
      return `= ${count} ${unit}${count === 1 ? '' : 's'}`;
    }
  }
  return '';
}

// Seconds read as minutes, hours or days; shares of 0 to 1 as percentages.
function noteFor(path, schema) {
  if (schema.type !== 'number' && schema.type !== 'integer') return null;
  if (/_s$/.test(path)) return (value) => duration(Number(value));
  if (schema.maximum <= 1 && (schema.minimum >= 0 || schema.exclusiveMinimum >= 0)) {
    return (value) => value === '' || value === null || !Number.isFinite(Number(value)) ? ''
      : `= ${Math.round(Number(value) * 1000) / 10}%`;
  }
  return null;
}

function scalarInput(schema, value, id, nullable) {
  let input;
  if (schema.enum) {
    input = el('select', {id});
    if (nullable) input.append(el('option', {value: ''}, '(any)'));
    for (const option of schema.enum) input.append(el('option', {value: option}, OPTIONS[option] || option));
    input.value = value === null || value === undefined ? '' : value;
  } else if (schema.type === 'boolean' && nullable) {
    input = el('select', {id});
    for (const [v, text] of [['', '(either)'], ['true', 'yes'], ['false', 'no']]) {
      input.append(el('option', {value: v}, text));
    }
    input.value = value === null || value === undefined ? '' : String(value);
  } else if (schema.type === 'boolean') {
    input = el('input', {type: 'checkbox', id});
    input.checked = Boolean(value);
  } else if (schema.type === 'number' || schema.type === 'integer') {
    input = el('input', {type: 'number', id, step: schema.type === 'integer' ? '1' : 'any'});
    if (schema.minimum !== undefined) input.min = schema.minimum;
    if (schema.maximum !== undefined) input.max = schema.maximum;
    input.value = value === null || value === undefined ? '' : value;
  } else {
    const long = (schema.maxLength || 0) >= 500;
    input = long ? el('textarea', {id, rows: '2', class: 'prose'})
      : el('input', {type: schema.format === 'date' ? 'date' : 'text', id});
    input.value = value === null || value === undefined ? '' : value;
  }
  const typed = input.tagName !== 'SELECT' && input.type !== 'checkbox';
  if (typed && schema.default !== undefined && schema.default !== null) {
    input.placeholder = String(schema.default);
  }
  return input;
}

function scalarValue(schema, input, nullable) {
  if (schema.type === 'boolean' && !nullable) return input.checked;
  if (input.value === '') return nullable || schema.type === 'number' || schema.type === 'integer' ? null : '';
  if (schema.type === 'boolean') return input.value === 'true';
  if (schema.type === 'number' || schema.type === 'integer') return Number(input.value);
  return input.value;
}

export function fieldBox(path, labelText, input, help) {
  const wrap = el('div', {class: 'field', 'data-path': path});
  const label = el('label', {for: input.id}, labelText);
  if (input.type === 'checkbox') wrap.classList.add('check');
  wrap.append(label, input);
  if (help) wrap.append(el('small', {class: 'help'}, help));
  wrap.append(problemLine());
  return wrap;
}

export function scalarField(ctx, slot, key, schema, path, label, help, nullable) {
  const input = scalarInput(schema, slot[key], idOf(path), nullable);
  const box = fieldBox(path, label, input, help);
  const explain = noteFor(path, schema);
  if (explain) {
    const note = el('output', {class: 'note', for: input.id}, explain(slot[key]));
    const control = el('span', {class: 'control'});
    input.replaceWith(control);
    control.append(input, note);
    input.addEventListener('input', () => { note.textContent = explain(input.value); });
  }
  input.addEventListener('input', () => { slot[key] = scalarValue(schema, input, nullable); });
  return box;
}

function linesField(slot, key, path, label, help) {
  const input = el('textarea', {id: idOf(path), rows: String(Math.min(8, Math.max(2, (slot[key] || []).length + 1))),
    spellcheck: 'false'});
  input.value = (slot[key] || []).join('\n');
  input.addEventListener('input', () => {
    slot[key] = input.value.split('\n').map((line) => line.trim()).filter(Boolean);
  });
  return fieldBox(path, label, input, help || 'one per line');
}

function checkboxes(slot, key, options, path, label, help) {
  const set = el('fieldset', {class: 'choices', 'data-path': path});
  set.append(el('legend', {}, label));
  const chosen = new Set(slot[key] || []);
  for (const option of options) {
    const id = idOf(path, option);
    const box = el('input', {type: 'checkbox', id, value: option});
    box.checked = chosen.has(option);
    box.addEventListener('input', () => {
      slot[key] = options.filter((o) => set.querySelector(`#${idOf(path, o)}`).checked);
    });
    const choice = el('span', {class: 'choice'});
    choice.append(box, el('label', {for: id}, OPTIONS[option] || option));
    set.append(choice);
  }
  if (help) set.append(el('small', {class: 'help'}, help));
  set.append(problemLine());
  return set;
}

// Anything the model may grow that no widget here knows stays editable, as JSON.
function jsonField(ctx, slot, key, path, label, help) {
  const input = el('textarea', {id: idOf(path), rows: '4', spellcheck: 'false'});
  input.value = JSON.stringify(slot[key] === undefined ? null : slot[key], null, 2);
  input.addEventListener('input', () => {
    try {
      slot[key] = JSON.parse(input.value || 'null');
      delete input.dataset.local;
    } catch (error) {
      input.dataset.local = 'not valid JSON: ' + error.message;
    }
  });
  input.dataset.localPath = path;
  input.dataset.kind = 'json';
  return fieldBox(path, label, input, help || 'JSON');
}

// -- structures ----------------------------------------------------------------------------

// A yes/no whose checkbox would not say what each answer means.
const CHOICES = {'TextMatch.present': [[true, 'yes, there is one'],
  [false, 'no, there is none (e.g. direct traffic)']]};

function choiceField(slot, key, choices, path, label, help) {
  const input = el('select', {id: idOf(path)});
  choices.forEach(([, text], index) => input.append(el('option', {value: String(index)}, text)));
  input.value = String(Math.max(0, choices.findIndex(([value]) => value === slot[key])));
  input.addEventListener('input', () => { slot[key] = choices[Number(input.value)][0]; });
  return fieldBox(path, label, input, help);
}

export function widget(ctx, slot, key, raw, path, owner) {
  if (ctx.custom[path]) return ctx.custom[path](ctx, slot, key, path);
  if (CHOICES[`${owner}.${key}`]) {
    return choiceField(slot, key, CHOICES[`${owner}.${key}`], path, labelOf(owner, key), helpOf(owner, key, raw));
  }
  const [schema, def] = resolve(raw, ctx.root);
  const label = labelOf(owner, key);
  const help = helpOf(owner, key, Object.assign({}, schema, {description: raw.description || schema.description}));
  const inner = nonNull(schema);
  if (inner) {
    const [branch, branchDef] = resolve(inner, ctx.root);
    if (isScalar(branch)) return scalarField(ctx, slot, key, branch, path, label, help, true);
    return toggled(ctx, slot, key, inner, branchDef, path, label, help);
  }
  if (isScalar(schema)) return scalarField(ctx, slot, key, schema, path, label, help, false);
  if (schema.type === 'array') {
    const [items, itemDef] = resolve(schema.items || {}, ctx.root);
    if (items.enum) return checkboxes(slot, key, items.enum, path, label, help);
    if (items.type === 'string') return linesField(slot, key, path, label, help);
    if (items.properties) return list(ctx, slot, key, schema.items, itemDef, path, label, help);
  }
  if (schema.type === 'object' && schema.properties) return group(ctx, slot, key, schema, def, path, label, help);
  if (schema.type === 'object' && schema.additionalProperties) return dict(ctx, slot, key, schema, path, label, help);
  return jsonField(ctx, slot, key, path, label, help);
}

// A model whose every property is optional (an audience condition, a text match) lists the ones set,
// each removable, and offers the others to add.
function optionalOnly(schema) {
  const props = Object.values(schema.properties || {});
  return props.length > 0 && props.every((p) => nonNull(p) && p.default === null);
}

export function objectBody(ctx, value, schema, def, path, container) {
  const prefix = path ? path + '.' : '';
  if (!optionalOnly(schema)) {
    for (const [name, prop] of Object.entries(schema.properties)) {
      if (!path && (name === 'site' || name === 'version')) continue;
      container.append(widget(ctx, value, name, prop, prefix + name, def));
    }
    return;
  }
  const unset = [];
  for (const [name, prop] of Object.entries(schema.properties)) {
    if (value[name] === null || value[name] === undefined) { unset.push(name); continue; }
    const row = el('div', {class: 'optional'});
    row.append(widget(ctx, value, name, nonNull(prop), prefix + name, def),
      button('✕', {'aria-label': `Remove “${labelOf(def, name)}”`, class: 'quiet small danger'}, () => {
        value[name] = null;
        ctx.redraw(`${path}:add`);
      }));
    container.append(row);
  }
  if (unset.length === Object.keys(schema.properties).length) {
    container.append(el('p', {class: 'empty'}, def === 'Condition' ? 'Everyone.' : 'Anything.'));
  }
  if (!unset.length) return;
  const last = path.split('.').pop();
  const where = /^\d+$/.test(last) ? `condition ${Number(last) + 1}` : `“${labelOf(def, last)}”`;
  // A choice and a button, not a select that acts on change: arrowing through a select's options
  // with the keyboard changes it at every step.
  const noun = def === 'Condition' ? 'condition' : 'test';
  const choice = el('select', {'aria-label': `Which ${noun} to add to ${where}`, class: 'add',
    id: idOf(path, 'add-choice')});
  choice.append(el('option', {value: ''}, `Add a ${noun}…`));
  for (const name of unset) choice.append(el('option', {value: name}, labelOf(def, name)));
  const add = button('+ Add', {'data-focus': `${path}:add`, 'aria-label': `Add the chosen ${noun} to ${where}`}, () => {
    const name = choice.value;
    if (!name) { choice.focus(); return; }
    const start = def === 'Condition' ? BLANK_PROPS[name] : BLANK_TESTS[name];
    value[name] = start ? start() : blank(ctx.root, nonNull(schema.properties[name]));
    ctx.redraw(`${path}:add`);
  });
  const adder = el('div', {class: 'adder'});
  adder.append(choice, add);
  container.append(adder);
}

function group(ctx, slot, key, schema, def, path, label, help) {
  if (!slot[key] || typeof slot[key] !== 'object') slot[key] = blank(ctx.root, schema);
  const set = el('fieldset', {'data-path': path});
  set.append(el('legend', {}, label), problemLine());
  if (help) set.append(el('p', {class: 'help'}, help));
  objectBody(ctx, slot[key], schema, def, path, set);
  return set;
}

function toggled(ctx, slot, key, inner, def, path, label, help) {
  const set = el('fieldset', {'data-path': path, class: 'toggled'});
  const on = el('input', {type: 'checkbox', id: idOf(path, 'on'), 'data-focus': `${path}:on`});
  on.checked = slot[key] !== null && slot[key] !== undefined;
  const legend = el('legend');
  legend.append(on, el('label', {for: on.id}, label));
  set.append(legend, problemLine());
  if (help) set.append(el('p', {class: 'help'}, help));
  on.addEventListener('input', () => {
    slot[key] = on.checked ? blank(ctx.root, inner) : null;
    ctx.redraw(`${path}:on`);
  });
  if (on.checked) {
    const [schema] = resolve(inner, ctx.root);
    objectBody(ctx, slot[key], schema, def, path, set);
  }
  return set;
}

function list(ctx, slot, key, itemRaw, itemDef, path, label, help) {
  if (!Array.isArray(slot[key])) slot[key] = [];
  const items = slot[key];
  const [itemSchema] = resolve(itemRaw, ctx.root);
  const noun = (SINGULAR[itemDef] || 'item').toLowerCase();
  const box = el('div', {class: 'list', 'data-path': path});
  box.append(el('div', {class: 'list-title'}, label));
  if (help) box.append(el('small', {class: 'help'}, help));
  box.append(problemLine());
  const ol = el('ol', {class: 'items'});
  items.forEach((item, index) => {
    const itemPath = `${path}.${index}`;
    const li = el('li', {class: 'item', 'data-path': itemPath});
    const head = el('div', {class: 'item-head'});
    head.append(el('span', {class: 'item-title'}, `${SINGULAR[itemDef] || 'Item'} ${index + 1}`),
      arrayButtons(ctx, items, index, path, `${noun} ${index + 1}`));
    li.append(head, problemLine());
    if (!item || typeof item !== 'object') items[index] = blank(ctx.root, itemRaw, items);
    objectBody(ctx, items[index], itemSchema, itemDef, itemPath, li);
    ol.append(li);
  });
  // In an audience, "+ Add a condition" is already the choice of a kind of condition.
  const more = itemDef === 'Condition' ? '+ Another condition in this list' : `+ Add a ${noun}`;
  box.append(ol, button(more, {'data-focus': `${path}:add`}, () => {
    items.push(blank(ctx.root, itemRaw, items));
    ctx.redraw(`${path}:add`);
  }));
  return box;
}

// The name inputs of a dict's entries: 'k-', so that no entry's own field (f-<path>-<name>) can take its id.
function nameId(path, index) {
  return 'k-' + path.replace(/\W/g, '-') + '-' + index;
}

// Entries are rewritten in place, so that the order of the names stays (it matters for page groups).
function refill(object, entries) {
  for (const k of Object.keys(object)) delete object[k];
  for (const [k, v] of entries) object[k] = v;
}

function renameKey(object, from, to) {
  refill(object, Object.entries(object).map(([k, v]) => [k === from ? to : k, v]));
}

function moveKey(object, from, to) {
  const entries = Object.entries(object);
  entries.splice(to, 0, ...entries.splice(from, 1));
  refill(object, entries);
}

function dict(ctx, slot, key, schema, path, label, help) {
  if (!slot[key] || typeof slot[key] !== 'object') slot[key] = {};
  const object = slot[key];
  const names = schema.propertyNames && schema.propertyNames.enum;
  const ordered = !names;  // free names are page groups, whose order decides which one a page takes
  const entryWords = ENTRY_WORDS[path.split('.').pop()] || ['Name', 'Value', 'entry'];
  const box = el('div', {class: 'list dict', 'data-path': path});
  box.append(el('div', {class: 'list-title'}, label));
  if (help) box.append(el('small', {class: 'help'}, help));
  box.append(problemLine());
  const ol = el('ol', {class: 'items'});
  const keys = Object.keys(object);
  keys.forEach((name, index) => {
    const entry = {key: name};
    const rowPath = `${path}.${name}`;
    const li = el('li', {class: 'item entry', 'data-path': rowPath});
    const keyId = nameId(path, index);
    let keyInput;
    if (names) {
      keyInput = el('select', {id: keyId});
      for (const option of names.filter((n) => n === name || !(n in object))) {
        keyInput.append(el('option', {value: option}, option));
      }
      keyInput.value = name;
      keyInput.addEventListener('input', () => {
        renameKey(object, entry.key, keyInput.value);
        ctx.redraw(keyId);
      });
    } else {
      keyInput = el('input', {type: 'text', id: keyId, value: name, spellcheck: 'false', class: 'key'});
      keyInput.dataset.localPath = rowPath;
      keyInput.addEventListener('input', () => {
        const wanted = keyInput.value.trim();
        if (!wanted) keyInput.dataset.local = 'a name is needed';
        else if (wanted !== entry.key && wanted in object) keyInput.dataset.local = `${wanted} is taken`;
        else {
          delete keyInput.dataset.local;
          renameKey(object, entry.key, wanted);
          entry.key = wanted;
        }
      });
    }
    keyInput.setAttribute('data-focus', keyId);
    const head = el('div', {class: 'item-head'});
    const keyLabel = el('label', {for: keyId, class: 'item-title'}, entryWords[0]);
    head.append(keyLabel, keyInput);
    const proxy = {get value() { return object[entry.key]; }, set value(v) { object[entry.key] = v; }};
    const value = widget(ctx, proxy, 'value', schema.additionalProperties, rowPath, path.split('.').pop());
    value.querySelector('label, legend, .list-title').textContent = entryWords[1];
    if (ordered) {
      head.append(orderButtons(ctx, keys.length, index, path, name,
        (to) => moveKey(object, index, to), () => delete object[entry.key]));
    } else {
      head.append(button('✕', {'aria-label': `Remove ${name}`, class: 'quiet small danger'}, () => {
        delete object[entry.key];
        ctx.redraw(`${path}:add`);
      }));
    }
    li.append(head, problemLine(), value);
    ol.append(li);
  });
  box.append(ol);
  const free = names ? names.filter((n) => !(n in object)) : [null];
  if (free.length) {
    box.append(button(`+ Add a ${entryWords[2]}`, {'data-focus': `${path}:add`}, () => {
      const name = names ? free[0] : freeName(entryWords[2], Object.keys(object));
      object[name] = blank(ctx.root, schema.additionalProperties);
      ctx.redraw(nameId(path, Object.keys(object).length - 1));
    }));
  }
  return box;
}

// -- the whole form ------------------------------------------------------------------------

export function renderForm(ctx, draft, container) {
  const nav = el('nav', {class: 'sections', 'aria-label': 'Sections of the rules'});
  container.append(nav);
  for (const [name, prop] of Object.entries(ctx.root.properties)) {
    if (name === 'site' || name === 'version') continue;
    const [schema] = resolve(prop, ctx.root);
    const title = SECTIONS[name] || words(name);
    let section;
    if (ctx.custom[name] || (schema.type === 'object' && schema.properties)) {
      section = widget(ctx, draft, name, prop, name, 'SiteConfig');
      const legend = section.querySelector('legend');
      if (!ctx.custom[name]) legend.textContent = title;
    } else {
      section = el('fieldset');
      section.append(el('legend', {}, title), widget(ctx, draft, name, prop, name, 'SiteConfig'));
    }
    section.id = `section-${name}`;
    section.classList.add('section');
    container.append(section);
    nav.append(button(title, {class: 'link'}, () => section.scrollIntoView({behavior: 'smooth', block: 'start'})));
  }
}
