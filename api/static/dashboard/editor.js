// The rules editor: one draft of the site's config document, edited either through the form
// (rules-form.js, generated from the document's JSON Schema, with hand-made widgets from
// rules-widgets.js) or, in the Advanced view, as the raw JSON. Both views edit the same draft, so
// switching keeps every change. Problems from the API name a field path; each goes beside the
// deepest widget whose data-path starts that path.

import {el} from './charts.js';
import {idOf, renderForm} from './rules-form.js';
import {hoursWidget, menuWidget} from './rules-widgets.js';

const CUSTOM = {hours: hoursWidget, 'fallback.bot.items': menuWidget};
const SETTLE_MS = 350;

export class Editor {
  constructor(form, onChange) {
    this.form = form;
    this.onChange = onChange;
    this.mode = 'form';
    this.draft = null;
    this.schema = null;
    this.problems = [];
    this.jsonError = null;
    this.timer = null;

    const views = el('div', {class: 'views', role: 'group', 'aria-label': 'Edit the rules as'});
    this.formButton = el('button', {type: 'button', id: 'view-form', class: 'quiet', 'aria-pressed': 'true'}, 'Form');
    this.jsonButton = el('button', {type: 'button', id: 'view-json', class: 'quiet', 'aria-pressed': 'false'},
      'Advanced (JSON)');
    this.formButton.addEventListener('click', () => this.showForm());
    this.jsonButton.addEventListener('click', () => this.showJson());
    views.append(this.formButton, this.jsonButton);
    this.viewNote = el('small', {class: 'problem', role: 'alert'});
    views.append(this.viewNote);

    this.body = el('div', {class: 'form-body'});
    this.json = el('div', {class: 'json-view'});
    this.json.hidden = true;
    this.text = el('textarea', {id: 'editor-json', rows: '30', spellcheck: 'false', autocomplete: 'off'});
    this.jsonProblems = el('ul', {class: 'problems', role: 'alert'});
    this.json.append(el('label', {for: 'editor-json'}, 'The whole config document, as JSON'),
      el('small', {class: 'help'}, 'The same draft as the form: what you change here is there when you switch ' +
        'back, and the other way round. docs/configuration.md explains every field.'),
      this.text, this.jsonProblems);
    this.text.addEventListener('input', () => this.readJson());

    form.replaceChildren(views, this.body, this.json);
    form.addEventListener('submit', (event) => event.preventDefault());
    form.addEventListener('input', () => this.changed());
  }

  changed() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.onChange(), SETTLE_MS);
  }

  render(schema, document) {
    this.schema = schema;
    this.draft = structuredClone(document);
    this.jsonError = null;
    this.problems = [];
    this.viewNote.textContent = '';
    this.draw();
  }

  draw(focus) {
    if (this.mode === 'json') {
      this.text.value = JSON.stringify(this.draft, null, 2);
    } else {
      const ctx = {root: this.schema, custom: CUSTOM, redraw: (key) => { this.draw(key); this.changed(); }};
      const scroll = window.scrollY;
      this.body.replaceChildren();
      renderForm(ctx, this.draft, this.body);
      window.scrollTo(0, scroll);
      if (focus) this.focus(focus);
    }
    this.placeProblems();
  }

  focus(key) {
    let target = this.body.querySelector(`[data-focus="${CSS.escape(key)}"]`) ||
      document.getElementById(idOf(key));
    if (target && target.disabled) target = target.parentElement.querySelector('button:not(:disabled)');
    if (target) target.focus({preventScroll: false});
  }

  readJson() {
    try {
      const parsed = JSON.parse(this.text.value);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
        throw new Error('the document is a JSON object');
      }
      this.draft = parsed;
      this.jsonError = null;
    } catch (error) {
      this.jsonError = error.message;
    }
  }

  showJson() {
    if (this.mode === 'json') return;
    this.mode = 'json';
    this.viewNote.textContent = '';
    this.body.hidden = true;
    this.json.hidden = false;
    this.formButton.setAttribute('aria-pressed', 'false');
    this.jsonButton.setAttribute('aria-pressed', 'true');
    this.draw();
  }

  showForm() {
    if (this.mode === 'form') return;
    if (this.jsonError) {
      this.viewNote.textContent = `Fix the JSON first, so that the form can show it: ${this.jsonError}`;
      return;
    }
    this.mode = 'form';
    this.viewNote.textContent = '';
    this.json.hidden = true;
    this.body.hidden = false;
    this.formButton.setAttribute('aria-pressed', 'true');
    this.jsonButton.setAttribute('aria-pressed', 'false');
    this.draw();
  }

  // The document as edited, and what stops it from being read at all (JSON that does not parse, a
  // page group with no name): those are problems before the API is asked.
  read() {
    const problems = [];
    if (this.mode === 'json' && this.jsonError) {
      problems.push({field: '(json)', message: 'not valid JSON: ' + this.jsonError});
    }
    if (this.mode === 'form') {
      for (const input of this.body.querySelectorAll('[data-local]')) {
        problems.push({field: input.dataset.localPath, message: input.dataset.local});
      }
    }
    return {document: structuredClone(this.draft), problems};
  }

  // Set one option from elsewhere (the threshold slider on Results), as if typed.
  set(path, value) {
    const keys = path.split('.');
    let target = this.draft;
    for (const key of keys.slice(0, -1)) target = target[key] = target[key] || {};
    const last = keys[keys.length - 1];
    target[last] = typeof target[last] === 'number' || /^-?\d+(\.\d+)?$/.test(String(value)) ? Number(value) : value;
    this.jsonError = null;
    this.draw();
    this.changed();
  }

  showProblems(problems) {
    this.problems = problems;
    return this.placeProblems();
  }

  // Each problem goes to the deepest widget whose path starts the problem's; returns those that fit none.
  placeProblems() {
    for (const node of this.form.querySelectorAll('.problem')) if (node !== this.viewNote) node.textContent = '';
    for (const node of this.form.querySelectorAll('.invalid')) node.classList.remove('invalid');
    this.jsonProblems.replaceChildren();
    if (this.mode === 'json') {
      for (const problem of this.problems) {
        this.jsonProblems.append(el('li', {}, `${problem.field}: ${problem.message}`));
      }
      return [];
    }
    const unplaced = [];
    for (const problem of this.problems) {
      let path = problem.field || '', holder = null;
      while (path && !holder) {
        holder = this.body.querySelector(`[data-path="${CSS.escape(path)}"]`);
        path = path.includes('.') ? path.slice(0, path.lastIndexOf('.')) : '';
      }
      const note = holder && holder.querySelector(':scope > .problem');
      if (!note) { unplaced.push(problem); continue; }
      holder.classList.add('invalid');
      note.textContent = (note.textContent ? note.textContent + ' ' : '') + problem.message;
    }
    return unplaced;
  }
}
