// The admin's tabs of the dashboard: Team (agents, presence, capacity, tokens), Canned (responses typed
// as /shortcut in the console) and Webhook (URL and secret, a test delivery, recent deliveries).
// Signed in as the dashboard is (its token and api helper); textContent only, no HTML built from data.

import {el, fmt} from './charts.js';
import {Unauthorized, api, state} from './dashboard.js';

const $ = (id) => document.getElementById(id);
const POLL_MS = 5000;
const PRESENCE = {online: 'Online', away: 'Away', offline: 'Offline'};
const OUTCOMES = {delivered: 'Delivered', retrying: 'Retrying', failed: 'Failed'};

const site = () => `/v1/admin/sites/${encodeURIComponent(state.site)}`;
const when = (ms) => new Date(ms).toLocaleString('en-GB');
const shown = (panel) => !$('app').hidden && !$(panel).hidden;

// -- forms: the API's 422 names the field; its problem is shown beside that field -----------

function clearProblems(form) {
  for (const wrap of form.querySelectorAll('.admin-field')) {
    wrap.classList.remove('invalid');
    wrap.querySelector('.problem').textContent = '';
  }
}

function showProblem(form, field, message) {
  const wrap = form.querySelector(`.admin-field[data-field="${CSS.escape(field || '')}"]`);
  if (!wrap) return false;
  wrap.classList.add('invalid');
  wrap.querySelector('.problem').textContent = message;
  wrap.querySelector('input, textarea').focus();
  return true;
}

async function copy(input, what, done) {
  input.select();
  let copied = false;
  if (navigator.clipboard && window.isSecureContext) {
    copied = await navigator.clipboard.writeText(input.value).then(() => true, () => false);
  }
  if (!copied) copied = document.execCommand('copy');  // a page served over plain http has no clipboard API
  done.textContent = copied ? `${what} copied.` : `Could not copy the ${what.toLowerCase()}: it is selected, ` +
    'press Ctrl+C (⌘C on a Mac).';
}

function actionsHeader() {
  const th = el('th', {scope: 'col'});
  th.append(el('span', {class: 'sr-only'}, 'Actions'));
  return th;
}

// -- Team ----------------------------------------------------------------------------------

const team = {agents: [], rotating: null};

async function loadTeam(poll) {
  if (!state.site) return;
  const {ok, body} = await api(`${site()}/agents`);
  if (!ok) { $('team-status').textContent = body.message || 'Could not load the agents.'; return; }
  const same = body.map((a) => a.id).join() === team.agents.map((a) => a.id).join();
  team.agents = body;
  // A poll only refreshes presence and load, so a limit being typed in a row is not thrown away.
  if (poll && same && $('team-list').querySelector('table')) refreshPresence(); else renderTeam();
}

function refreshPresence() {
  for (const agent of team.agents) {
    const row = $('team-list').querySelector(`tr[data-agent="${CSS.escape(agent.id)}"]`);
    row.querySelector('.presence').replaceWith(presenceBadge(agent));
    row.querySelector('.load').textContent = loadOf(agent);
  }
}

const presenceBadge = (agent) => el('span', {class: `presence ${agent.presence}`},
  PRESENCE[agent.presence] || agent.presence);
const loadOf = (agent) => `${agent.active_chats} of ${agent.max_chats} chats`;  // as the console says it

function renderTeam() {
  const box = $('team-list');
  if (!team.agents.length) {
    box.replaceChildren(el('p', {class: 'empty'}, 'No agents yet. Add one to start answering chats.'));
    return;
  }
  const t = el('table', {class: 'team'});
  t.append(el('caption', {class: 'sr-only'}, 'Agents of this site'));
  const head = el('tr');
  for (const title of ['Name', 'Presence', 'Load', 'Chats at once', 'Account']) head.append(el('th', {scope: 'col'}, title));
  head.append(actionsHeader());
  const thead = el('thead');
  thead.append(head);
  const rows = el('tbody');
  for (const agent of team.agents) rows.append(agentRow(agent));
  t.append(thead, rows);
  box.replaceChildren(t);
}

function agentRow(agent) {
  const tr = el('tr', {'data-agent': agent.id});
  tr.append(el('th', {scope: 'row'}, agent.name));
  const cell = el('td');
  cell.append(presenceBadge(agent));
  tr.append(cell, el('td', {class: 'load'}, loadOf(agent)));

  const capacity = el('td', {class: 'capacity'});
  const id = `capacity-${agent.id}`;
  const input = el('input', {type: 'number', id, min: '1', max: '50', step: '1', value: String(agent.max_chats),
    'aria-label': `Chats at once for ${agent.name}`, 'aria-describedby': `${id}-problem`});
  const save = el('button', {type: 'button', class: 'quiet'}, 'Save');
  save.disabled = true;
  input.addEventListener('input', () => { save.disabled = input.value === String(agent.max_chats); });
  input.addEventListener('keydown', (event) => { if (event.key === 'Enter' && !save.disabled) save.click(); });
  const problem = el('p', {class: 'problem', id: `${id}-problem`});
  save.addEventListener('click', () => changeCapacity(agent, input, problem));
  const row = el('div', {class: 'inline'});
  row.append(input, save);
  capacity.append(row, problem);
  tr.append(capacity, el('td', {}, agent.disabled ? 'Disabled' : 'Enabled'));

  const actions = el('td', {class: 'actions'});
  const toggle = el('button', {type: 'button', class: 'quiet'}, agent.disabled ? 'Enable' : 'Disable');
  toggle.addEventListener('click', () => setDisabled(agent, !agent.disabled));
  const rotate = el('button', {type: 'button', class: 'quiet'}, 'New token');
  rotate.addEventListener('click', () => askRotate(agent));
  actions.append(toggle, rotate);
  tr.append(actions);
  return tr;
}

async function changeCapacity(agent, input, problem) {
  problem.textContent = '';
  input.classList.remove('invalid');
  const {ok, body} = await api(`${site()}/agents/${encodeURIComponent(agent.id)}`,
    {method: 'PATCH', json: {max_chats: input.value === '' ? null : Number(input.value)}});
  if (!ok) {
    input.classList.add('invalid');
    problem.textContent = body.field === 'max_chats' ? `A whole number from 1 to 50 (${body.message}).` : body.message;
    input.focus();
    return;
  }
  $('team-status').textContent = `${agent.name} now takes up to ${body.max_chats} chat${body.max_chats === 1 ? '' : 's'} at once.`;
  await loadTeam();
}

async function setDisabled(agent, disabled) {
  const {ok, body} = await api(`${site()}/agents/${encodeURIComponent(agent.id)}/${disabled ? 'disable' : 'enable'}`,
    {method: 'POST'});
  $('team-status').textContent = !ok ? body.message : disabled
    ? `${agent.name} is disabled: their token no longer works and an open console closes.`
    : `${agent.name} is enabled again: their token works.`;
  await loadTeam();
}

function askRotate(agent) {
  team.rotating = agent;
  $('team-confirm-text').textContent = `Issue a new token for ${agent.name}? Their current token stops working ` +
    'at once, and a console signed in with it is signed out. They will need the new one.';
  $('team-confirm').hidden = false;
  $('team-confirm-no').focus();
}

function closeConfirm() {
  team.rotating = null;
  $('team-confirm').hidden = true;
}

async function rotate() {
  const agent = team.rotating;
  closeConfirm();
  if (!agent) return;
  const {ok, body} = await api(`${site()}/agents/${encodeURIComponent(agent.id)}/token`, {method: 'POST'});
  if (!ok) { $('team-status').textContent = body.message; return; }
  $('team-status').textContent = `${agent.name}'s old token no longer works.`;
  revealToken(`New token for ${agent.name}`, body.token, body.sign_in_url);
}

function revealToken(title, token, link) {
  $('team-token-title').textContent = title;
  $('team-token-value').value = token;
  $('team-token-link').value = link;
  $('team-token-copied').textContent = '';
  $('team-token').hidden = false;
  $('team-token-value').focus();
  $('team-token-value').select();
}

function forgetToken() {
  // Gone from the page, not only out of sight.
  $('team-token-value').value = '';
  $('team-token-link').value = '';
  $('team-token').hidden = true;
}

async function createAgent(event) {
  event.preventDefault();
  const form = $('agent-form');
  clearProblems(form);
  const capacity = $('agent-capacity').value;
  const {ok, body} = await api(`${site()}/agents`, {method: 'POST',
    json: {name: $('agent-name').value.trim(), max_chats: capacity === '' ? null : Number(capacity)}});
  if (!ok) {
    const message = body.field === 'max_chats' ? 'A whole number from 1 to 50.' :
      body.field === 'name' ? 'A name of 1 to 80 characters.' : body.message;
    if (!showProblem(form, body.field, message)) $('agent-form-status').textContent = body.message;
    return;
  }
  form.reset();
  $('agent-form-status').textContent = `${body.agent.name} was added.`;
  revealToken(`Token for ${body.agent.name}`, body.token, body.sign_in_url);
  await loadTeam();
}

// -- Canned --------------------------------------------------------------------------------

async function loadCanned() {
  if (!state.site) return;
  const {ok, body} = await api(`${site()}/canned`);
  if (!ok) { $('canned-status').textContent = body.message || 'Could not load the responses.'; return; }
  const box = $('canned-list');
  if (!body.length) {
    box.replaceChildren(el('p', {class: 'empty'}, 'No canned responses yet.'));
    return;
  }
  const t = el('table', {class: 'canned'});
  t.append(el('caption', {class: 'sr-only'}, 'Canned responses'));
  const head = el('tr');
  for (const title of ['Shortcut', 'Text']) head.append(el('th', {scope: 'col'}, title));
  head.append(actionsHeader());
  const thead = el('thead');
  thead.append(head);
  const rows = el('tbody');
  for (const canned of body) {
    const tr = el('tr', {'data-shortcut': canned.shortcut});
    tr.append(el('th', {scope: 'row'}, `/${canned.shortcut}`), el('td', {class: 'text'}, canned.text));
    const drop = el('button', {type: 'button', class: 'quiet', 'aria-label': `Delete /${canned.shortcut}`}, 'Delete');
    drop.addEventListener('click', () => dropCanned(canned.shortcut));
    const cell = el('td', {class: 'actions'});
    cell.append(drop);
    tr.append(cell);
    rows.append(tr);
  }
  t.append(thead, rows);
  box.replaceChildren(t);
}

async function saveCanned(event) {
  event.preventDefault();
  const form = $('canned-form');
  clearProblems(form);
  const shortcut = $('canned-shortcut').value.trim().replace(/^\//, '');  // typed as in the console
  const {ok, body} = await api(`${site()}/canned`, {method: 'POST', json: {shortcut, text: $('canned-text').value}});
  if (!ok) {
    const message = body.field === 'shortcut'
      ? 'Use 1 to 32 lowercase letters, digits, - or _ (no spaces).'
      : body.field === 'text' ? 'Write the text the agent inserts: 1 to 2,000 characters.' : body.message;
    if (!showProblem(form, body.field, message)) $('canned-form-status').textContent = body.message;
    return;
  }
  form.reset();
  $('canned-form-status').textContent = `Saved /${body.shortcut}. Open consoles have it now.`;
  await loadCanned();
}

async function dropCanned(shortcut) {
  const {ok, body} = await api(`${site()}/canned/${encodeURIComponent(shortcut)}`, {method: 'DELETE'});
  $('canned-status').textContent = ok ? `Deleted /${shortcut}.` : body.message;
  await loadCanned();
}

// -- Webhook -------------------------------------------------------------------------------

const hook = {config: null};

async function loadWebhook(keepForm) {
  if (!state.site) return;
  const [current, deliveries] = await Promise.all([api(`${site()}/webhook`), api(`${site()}/webhook/deliveries`)]);
  hook.config = current.ok ? current.body : null;
  if (!keepForm) {
    $('webhook-url').value = hook.config ? hook.config.url : '';
    $('webhook-secret').value = hook.config ? hook.config.secret : '';
  }
  $('webhook-test').disabled = !hook.config;
  $('webhook-remove').disabled = !hook.config;
  renderCounts(hook.config && hook.config.status);
  renderDeliveries(deliveries.ok ? deliveries.body.deliveries : []);
}

function renderCounts(status) {
  const list = $('webhook-counts');
  list.replaceChildren();
  if (!status) {
    list.append(el('dt', {}, 'Webhook'), el('dd', {}, 'none set: chat events are not sent anywhere'));
    return;
  }
  const add = (name, value) => list.append(el('dt', {}, name), el('dd', {}, value));
  add('Chat events delivered', fmt(status.delivered, 0));
  add('Chat events failed', fmt(status.failed, 0));
  add('Waiting to be sent', fmt(status.backlog, 0));
  add('Last error', status.last_error ? `${status.last_error.error} (${when(status.last_error.at_ms)})` : 'none');
}

// The receiver's status when it answered, else why nothing came back (unreachable, timed out).
const answerOf = (delivery) => delivery.status !== null ? `HTTP ${delivery.status}` : delivery.error || '–';

function renderDeliveries(deliveries) {
  const box = $('webhook-deliveries');
  if (!deliveries.length) {
    box.replaceChildren(el('p', {class: 'empty'}, 'No deliveries yet.'));
    return;
  }
  const t = el('table', {class: 'deliveries'});
  t.append(el('caption', {class: 'sr-only'}, 'Recent webhook deliveries, newest first'));
  const head = el('tr');
  for (const title of ['Time', 'Event', 'Outcome', 'Answer', 'Attempt', 'Took']) {
    head.append(el('th', {scope: 'col'}, title));
  }
  const thead = el('thead');
  thead.append(head);
  const rows = el('tbody');
  for (const delivery of deliveries) {
    const tr = el('tr', {'data-delivery': delivery.id});
    tr.append(el('td', {}, when(delivery.at_ms)), el('td', {}, delivery.event),
      el('td', {class: `outcome ${delivery.outcome}`}, OUTCOMES[delivery.outcome] || delivery.outcome),
      el('td', {class: 'answer'}, answerOf(delivery)), el('td', {class: 'num'}, fmt(delivery.attempts, 0)),
      el('td', {class: 'num'}, `${fmt(delivery.duration_ms, 0)} ms`));
    rows.append(tr);
  }
  t.append(thead, rows);
  box.replaceChildren(t);
}

async function saveWebhook(event) {
  event.preventDefault();
  const form = $('webhook-form');
  clearProblems(form);
  // PUT replaces the whole webhook: what this form does not show (events, enabled, messages) is kept.
  const kept = hook.config ? {events: hook.config.events, enabled: hook.config.enabled,
    include_messages: hook.config.include_messages} : {};
  const secret = $('webhook-secret').value.trim();
  const {ok, body} = await api(`${site()}/webhook`, {method: 'PUT',
    json: Object.assign(kept, {url: $('webhook-url').value.trim()}, secret ? {secret} : {})});
  if (!ok) {
    const message = body.field === 'url' ? 'An address that starts with https:// (or http://).' :
      body.field === 'secret' ? 'From 16 to 200 characters, or empty to have one generated.' : body.message;
    if (!showProblem(form, body.field, message)) $('webhook-form-status').textContent = body.message;
    return;
  }
  $('webhook-form-status').textContent = secret ? 'Saved.' : 'Saved, with a generated secret: give it to the receiver.';
  await loadWebhook();
}

async function testWebhook() {
  const result = $('webhook-test-result');
  $('webhook-test').disabled = true;
  result.className = 'status';
  result.textContent = 'Sending a signed webhook.test…';
  const {ok, body} = await api(`${site()}/webhook/test`, {method: 'POST'});
  $('webhook-test').disabled = !hook.config;
  if (!ok) { result.textContent = body.message; return; }
  const took = `in ${fmt(body.duration_ms, 0)} ms`;
  result.className = `status ${body.outcome === 'delivered' ? 'good' : 'bad'}`;
  result.textContent = body.outcome === 'delivered'
    ? `Delivered: the receiver answered HTTP ${body.status} ${took}.`
    : body.status !== null ? `Not delivered: the receiver answered HTTP ${body.status} ${took}.`
      : `Not delivered: ${body.error} (after ${fmt(body.duration_ms, 0)} ms).`;
  await loadWebhook(true);
}

async function removeWebhook() {
  $('webhook-confirm').hidden = true;
  const {ok, body} = await api(`${site()}/webhook`, {method: 'DELETE'});
  $('webhook-form-status').textContent = ok ? 'Removed: chat events are no longer sent.' : body.message;
  $('webhook-test-result').textContent = '';
  await loadWebhook();
}

function toggleSecret() {
  const input = $('webhook-secret'), button = $('webhook-secret-show');
  const show = input.type === 'password';
  input.type = show ? 'text' : 'password';
  button.textContent = show ? 'Hide' : 'Show';
  button.setAttribute('aria-pressed', String(show));
}

// -- wiring --------------------------------------------------------------------------------

const LOADERS = {team: loadTeam, canned: loadCanned, webhook: () => loadWebhook()};

function reload() {
  for (const [panel, load] of Object.entries(LOADERS)) if (shown(panel)) load();
}

for (const panel of Object.keys(LOADERS)) $(`tab-${panel}`).addEventListener('click', () => LOADERS[panel]());
$('site').addEventListener('change', () => {
  forgetToken();
  closeConfirm();
  $('webhook-confirm').hidden = true;
  for (const id of ['team-status', 'agent-form-status', 'canned-status', 'canned-form-status', 'webhook-form-status',
    'webhook-test-result']) $(id).textContent = '';
  reload();  // dashboard.js (evaluated first, as this module imports it) has set state.site by now
});
$('refresh').addEventListener('click', reload);
$('agent-form').addEventListener('submit', createAgent);
$('team-confirm-yes').addEventListener('click', rotate);
$('team-confirm-no').addEventListener('click', closeConfirm);
$('team-token-copy').addEventListener('click', () => copy($('team-token-value'), 'Token', $('team-token-copied')));
$('team-link-copy').addEventListener('click', () => copy($('team-token-link'), 'Link', $('team-token-copied')));
$('team-token-done').addEventListener('click', forgetToken);
$('canned-form').addEventListener('submit', saveCanned);
$('webhook-form').addEventListener('submit', saveWebhook);
$('webhook-secret-show').addEventListener('click', toggleSecret);
$('webhook-test').addEventListener('click', testWebhook);
$('webhook-remove').addEventListener('click', () => { $('webhook-confirm').hidden = false; $('webhook-confirm-no').focus(); });
$('webhook-confirm-yes').addEventListener('click', removeWebhook);
$('webhook-confirm-no').addEventListener('click', () => { $('webhook-confirm').hidden = true; });
// The admin token stopped being accepted (changed on the server): start again from the sign-in, which says so.
window.addEventListener('unhandledrejection', (event) => {
  if (!(event.reason instanceof Unauthorized)) return;
  event.preventDefault();
  location.reload();
});
// Presence and deliveries change by themselves: while their tab is on screen, ask again now and then.
setInterval(() => {
  if (document.hidden) return;
  if (shown('team')) loadTeam(true);
  if (shown('webhook')) loadWebhook(true);
}, POLL_MS);
