// The rules editor: a form generated from the config document's JSON Schema, so it mirrors every
// option. Simple values get inputs; nested lists and optional sections are edited as JSON.

import {el} from './charts.js';

function resolve(schema, root) {
  while (schema && schema.$ref) schema = root.$defs[schema.$ref.split('/').pop()];
  return schema || {};
}

function title(name, schema) {
  const words = (schema.title || name).replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1).toLowerCase().replace(/\bs$/, '(s)');
}

function kindOf(schema) {
  if (schema.enum) return 'enum';
  if (schema.type === 'array' && schema.items && schema.items.type === 'string') return 'lines';
  if (['boolean', 'number', 'integer', 'string'].includes(schema.type)) return schema.type;
  return 'json';
}

function field(path, name, schema, value) {
  const id = 'f-' + path.replace(/\W/g, '-');
  const wrap = el('div', {class: 'field', 'data-path': path});
  const kind = kindOf(schema);
  let input;
  if (kind === 'boolean') {
    input = el('input', {type: 'checkbox', id});
    input.checked = Boolean(value);
  } else if (kind === 'enum') {
    input = el('select', {id});
    for (const option of schema.enum) input.append(el('option', {value: option}, option));
    input.value = value;
  } else if (kind === 'number' || kind === 'integer') {
    input = el('input', {type: 'number', id, step: kind === 'integer' ? '1' : 'any'});
    if (schema.minimum !== undefined) input.min = schema.minimum;
    if (schema.maximum !== undefined) input.max = schema.maximum;
    input.value = value === null || value === undefined ? '' : value;
  } else if (kind === 'string') {
    input = el('input', {type: 'text', id});
    input.value = value === null || value === undefined ? '' : value;
  } else {
    const text = kind === 'lines' ? (value || []).join('\n') : JSON.stringify(value === undefined ? null : value, null, 2);
    input = el('textarea', {id, rows: String(Math.min(12, Math.max(2, text.split('\n').length))), spellcheck: 'false'});
    input.value = text;
  }
  input.dataset.kind = kind;
  input.dataset.path = path;
  const label = el('label', {for: id}, title(name, schema));
  if (kind === 'boolean') wrap.append(input, label); else wrap.append(label, input);
  const help = schema.description || (kind === 'lines' ? 'one per line' : kind === 'json' ? 'JSON' : '');
  if (help) wrap.append(el('small', {class: 'help'}, help + (kind === 'lines' && schema.description ? ' (one per line)' : '')));
  wrap.append(el('small', {class: 'problem', role: 'alert'}));
  return wrap;
}

function section(container, schema, root, document, prefix) {
  for (const [name, raw] of Object.entries(schema.properties || {})) {
    const path = prefix ? `${prefix}.${name}` : name;
    if (path === 'version' || path === 'site') continue;
    const child = resolve(raw, root);
    const value = document ? document[name] : undefined;
    if (child.type === 'object' && child.properties && !raw.anyOf) {
      const set = el('fieldset', {'data-path': path});
      set.append(el('legend', {}, title(name, {})));
      if (child.description) set.append(el('p', {class: 'help'}, child.description));
      section(set, child, root, value || {}, path);
      container.append(set);
    } else {
      container.append(field(path, name, Object.assign({}, child, {description: raw.description || child.description}), value));
    }
  }
}

export class Editor {
  constructor(form, onChange) {
    this.form = form;
    this.onChange = onChange;
    this.timer = null;
    form.addEventListener('input', () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.onChange(), 350);
    });
  }

  render(schema, document) {
    this.base = document;
    this.form.replaceChildren();
    section(this.form, schema, schema, document, '');
  }

  // The document as edited; a value that cannot be read becomes a problem on its own field.
  read() {
    const document = JSON.parse(JSON.stringify(this.base));
    const problems = [];
    for (const input of this.form.querySelectorAll('[data-kind]')) {
      const path = input.dataset.path.split('.');
      let value;
      switch (input.dataset.kind) {
        case 'boolean': value = input.checked; break;
        case 'number': case 'integer':
          value = input.value === '' ? null : Number(input.value);
          break;
        case 'lines': value = input.value.split('\n').map((s) => s.trim()).filter(Boolean); break;
        case 'json':
          try { value = JSON.parse(input.value || 'null'); } catch (error) {
            problems.push({field: input.dataset.path, message: 'not valid JSON: ' + error.message});
            continue;
          }
          break;
        default: value = input.value;
      }
      let target = document;
      for (const key of path.slice(0, -1)) target = target[key] = target[key] || {};
      target[path[path.length - 1]] = value;
    }
    return {document, problems};
  }

  set(path, value) {
    const input = this.form.querySelector(`[data-path="${CSS.escape(path)}"][data-kind]`);
    if (input) {
      input.value = value;
      input.dispatchEvent(new Event('input', {bubbles: true}));
    }
  }

  // Each problem goes to the deepest field or section whose path it starts with.
  showProblems(problems) {
    for (const node of this.form.querySelectorAll('.problem')) node.textContent = '';
    for (const node of this.form.querySelectorAll('.invalid')) node.classList.remove('invalid');
    const unplaced = [];
    for (const problem of problems) {
      let path = problem.field, holder = null;
      while (path && !holder) {
        holder = this.form.querySelector(`.field[data-path="${CSS.escape(path)}"]`);
        path = path.includes('.') ? path.slice(0, path.lastIndexOf('.')) : '';
      }
      if (!holder) { unplaced.push(problem); continue; }
      holder.classList.add('invalid');
      const note = holder.querySelector('.problem');
      note.textContent = (note.textContent ? note.textContent + ' ' : '') + problem.message;
    }
    return unplaced;
  }
}
