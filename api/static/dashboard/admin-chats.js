// The dashboard's Chats and Inbox tabs: transcripts (search, read, export, a visitor's deletion) and the
// offline messages visitors left, with their handled status. Everything a visitor wrote is set as text.

import {el} from './charts.js';
import {api, saveFile, state} from './dashboard.js';

const $ = (id) => document.getElementById(id);
const SEARCH_LIMIT = 200;
const INBOX_REFRESH_MS = 30000;
const DAY_MS = 86400000;

const END_REASONS = {
  closed: 'the visitor closed it', left: 'the visitor left the site', left_message: 'the visitor left a message',
  ended: 'the agent ended it', agent_left: "the agent's console went away", unanswered: 'nobody answered',
};
const view = {chats: [], open: null, reading: null, forget: null, inboxTimer: null};

const base = () => `/v1/admin/sites/${encodeURIComponent(state.site)}`;
const when = (ms) => ms ? new Date(ms).toLocaleString('en-GB', {dateStyle: 'medium', timeStyle: 'short'}) : '–';
const clock = (ms) => new Date(ms).toLocaleTimeString('en-GB', {hour: '2-digit', minute: '2-digit', second: '2-digit'});
const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

function stateText(chat) {
  const reason = END_REASONS[chat.end_reason];
  return reason ? `${chat.state}: ${reason}` : chat.state;
}

function outcomeText(outcome) {
  if (!outcome) return '–';
  return (outcome.resolved ? 'resolved' : 'not resolved') + (outcome.stuck ? ', was stuck' : '');
}

const agentText = (chat) => chat.agent_name || chat.agent || '–';
const csatText = (csat) => csat === null || csat === undefined ? '–' : `${csat} / 5`;

// -- chats ---------------------------------------------------------------------------------

// The search as query parameters: the dates are whole local days, "to" included.
function searchParams() {
  const params = new URLSearchParams();
  const visitor = $('chat-visitor').value.trim();
  if (visitor) params.set('visitor', visitor);
  if ($('chat-state').value) params.set('state', $('chat-state').value);
  const from = $('chat-from').valueAsDate, to = $('chat-to').valueAsDate;
  if (from) params.set('since_ms', String(localMidnight(from)));
  if (to) params.set('until_ms', String(localMidnight(to) + DAY_MS - 1));
  return params;
}

// A date input's valueAsDate is midnight UTC of the day picked; the admin means that day where they are.
function localMidnight(date) {
  return new Date(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()).getTime();
}

async function loadChats() {
  if (!state.site) return;
  const params = searchParams();
  params.set('limit', String(SEARCH_LIMIT));
  $('chats-status').textContent = 'Searching…';
  const {ok, body} = await api(`${base()}/chats?${params}`);
  if (!ok) { $('chats-status').textContent = `${body.field ? body.field + ': ' : ''}${body.message || 'Could not search.'}`; return; }
  view.chats = body;
  const visitor = params.get('visitor');
  $('chats-status').textContent = body.length
    ? `${plural(body.length, 'chat')}${body.length >= SEARCH_LIMIT ? ' (the newest; narrow the search to see older ones)' : ''}.`
    : 'No chats match this search.';
  $('visitor-actions').hidden = !visitor;
  if (visitor) $('forget-searched').textContent = `Delete the data of ${visitor}`;
  renderChats();
}

function renderChats() {
  const box = $('chat-list');
  box.replaceChildren();
  if (!view.chats.length) return;
  const table = el('table', {class: 'chat-list'});
  table.append(el('caption', {class: 'sr-only'}, 'Chats found'));
  const head = el('tr');
  for (const title of ['When', 'Visitor', 'Agent', 'State', 'Outcome', 'CSAT']) head.append(el('th', {scope: 'col'}, title));
  table.append(head);
  for (const chat of view.chats) {
    const row = el('tr', {'data-chat': chat.id});
    if (view.open === chat.id) row.classList.add('open');
    const read = el('button', {type: 'button', class: 'link', 'aria-label': `Read the chat of ${when(chat.created_ms)}`},
      when(chat.created_ms));
    read.addEventListener('click', () => openChat(chat.id));
    const first = el('td');
    first.append(read);
    row.append(first, el('td', {class: 'visitor'}, chat.visitor), el('td', {}, agentText(chat)),
      el('td', {}, stateText(chat)), el('td', {}, outcomeText(chat.outcome)), el('td', {class: 'num'}, csatText(chat.csat)));
    row.addEventListener('click', (event) => { if (event.target === row || event.target.tagName === 'TD') openChat(chat.id); });
    table.append(row);
  }
  box.append(table);
}

async function openChat(chatId) {
  const {ok, body} = await api(`${base()}/chats/${encodeURIComponent(chatId)}`);
  if (!ok) { $('chats-status').textContent = body.message || 'Could not read the chat.'; return; }
  view.open = chatId;
  for (const row of document.querySelectorAll('#chat-list tr[data-chat]')) {
    row.classList.toggle('open', row.dataset.chat === chatId);
  }
  renderTranscript(body);
}

function renderTranscript(chat) {
  $('transcript-empty').hidden = true;
  $('transcript-body').hidden = false;
  const facts = $('transcript-facts');
  facts.replaceChildren();
  const add = (name, value) => facts.append(el('dt', {}, name), el('dd', {}, value));
  add('Visitor', chat.visitor);
  add('Agent', (chat.agents && chat.agents.length > 1) ? `${agentText(chat)} (had by ${chat.agents.length} agents)` : agentText(chat));
  add('Requested', when(chat.created_ms));
  add('Started', when(chat.started_ms));
  add('Ended', when(chat.ended_ms));
  add('State', stateText(chat));
  add('Outcome', outcomeText(chat.outcome));
  add('CSAT', csatText(chat.csat));
  if (chat.context && chat.context.reasons && chat.context.reasons.length) add('Invited because', chat.context.reasons.join(', '));
  const list = $('transcript-messages');
  list.replaceChildren();
  for (const message of chat.messages) {
    const who = message.from === 'visitor' ? 'Visitor' : message.from === 'agent' ? (message.name || 'Agent') : 'Tactful';
    const item = el('li', {class: `message from-${message.from === 'visitor' || message.from === 'agent' ? message.from : 'system'}`});
    const meta = el('p', {class: 'meta'});
    meta.append(el('strong', {}, who), ' ', el('time', {datetime: new Date(message.ts).toISOString()}, clock(message.ts)));
    item.append(meta, el('p', {class: 'text'}, message.text));
    list.append(item);
  }
  if (!chat.messages.length) list.append(el('li', {class: 'empty'}, 'Nobody wrote anything in this chat.'));
  $('forget-visitor').textContent = `Delete the data of ${chat.visitor}`;
  view.reading = chat.visitor;
}

function clearTranscript() {
  view.open = null;
  $('transcript-body').hidden = true;
  $('transcript-empty').hidden = false;
}

async function exportChats() {
  const params = searchParams();
  params.set('limit', '10000');
  const saved = await saveFile(`${base()}/chats/export?${params}`, `${state.site}-chats.jsonl`);
  $('chats-status').textContent = saved ? 'Exported the chats of this search, with their messages (JSON Lines).'
    : 'Could not export: check the search.';
}

// -- a visitor's deletion ------------------------------------------------------------------

function askForget(visitor) {
  view.forget = visitor;
  const chats = view.chats.filter((chat) => chat.visitor === visitor).length;
  $('forget-what').textContent = `Everything kept about visitor ${visitor} is deleted: their chats` +
    (chats ? ` (${plural(chats, 'chat')} in this list)` : '') + ' with every message, the messages they left, ' +
    'and their visits and events.';
  $('forget-dialog').showModal();
  $('forget-cancel').focus();
}

async function forget() {
  const visitor = view.forget;
  $('forget-dialog').close();
  const {ok, body} = await api(`${base()}/visitors/${encodeURIComponent(visitor)}`, {method: 'DELETE'});
  if (!ok) { $('chats-status').textContent = body.message || 'Could not delete.'; return; }
  if (view.open && view.chats.some((chat) => chat.id === view.open && chat.visitor === visitor)) clearTranscript();
  await Promise.all([loadChats(), loadInbox()]);
  $('chats-status').textContent = `Deleted the data of ${visitor}: ${plural(body.deleted.chats, 'chat')} and ` +
    `${plural(body.deleted.offline_messages, 'offline message')}. ` + $('chats-status').textContent;
}

// -- inbox ---------------------------------------------------------------------------------

async function loadInbox() {
  if (!state.site) return;
  const all = $('inbox-all').checked;
  const {ok, body} = await api(`${base()}/offline-messages${all ? '' : '?handled=false'}`);
  if (!ok) { $('inbox-status').textContent = body.message || 'Could not load the messages.'; return; }
  const messages = [...body].sort((a, b) => Number(a.handled) - Number(b.handled));  // stable: newest first within
  showCount(messages.filter((message) => !message.handled).length);
  $('inbox-status').textContent = messages.length ? '' : all ? 'No messages yet.' : 'Nothing waiting: every message is handled.';
  const list = $('inbox-list');
  list.replaceChildren(...messages.map(renderMessage));
}

function showCount(unhandled) {
  const badge = $('inbox-count');
  badge.replaceChildren(String(unhandled), el('span', {class: 'sr-only'}, ' unhandled'));
  badge.hidden = unhandled === 0;
}

function renderMessage(message) {
  const item = el('li', {class: message.handled ? 'handled' : 'unhandled', 'data-message': message.id});
  const head = el('p', {class: 'meta'});
  head.append(el('a', {href: `mailto:${message.email}`}, message.email), ` · ${when(message.ts)} · visitor `);
  const visitor = el('button', {type: 'button', class: 'link', title: 'Their chats'}, message.visitor);
  visitor.addEventListener('click', () => showVisitorChats(message.visitor));
  head.append(visitor);
  const status = el('p', {class: 'handled-status'}, message.handled ? `Handled ${when(message.handled_ms)}` : 'Not handled yet');
  const toggle = el('button', {type: 'button', class: message.handled ? 'quiet' : ''},
    message.handled ? 'Mark unhandled' : 'Mark handled');
  toggle.addEventListener('click', () => mark(message, !message.handled));
  item.append(head, el('p', {class: 'text'}, message.message), status, toggle);
  return item;
}

async function mark(message, handled) {
  const {ok, body} = await api(`${base()}/offline-messages/${encodeURIComponent(message.id)}/handled`,
    {method: 'POST', json: {handled}});
  await loadInbox();
  const done = ok ? `The message from ${message.email} is ${handled ? 'handled' : 'back with the unhandled ones'}.`
    : body.message || 'Could not change the message.';
  $('inbox-status').textContent = `${done} ${$('inbox-status').textContent}`.trim();
}

function showVisitorChats(visitor) {
  $('chat-visitor').value = visitor;
  $('chat-state').value = '';
  $('chat-from').value = '';
  $('chat-to').value = '';
  $('tab-chats').click();
  loadChats();
}

// -- wiring --------------------------------------------------------------------------------

function siteChosen() {
  view.chats = [];
  clearTranscript();
  $('chat-list').replaceChildren();
  $('chats-status').textContent = '';
  loadInbox();
  if (!$('chats').hidden) loadChats();
  clearInterval(view.inboxTimer);
  view.inboxTimer = setInterval(loadInbox, INBOX_REFRESH_MS);  // messages arrive while the dashboard is open
}

document.addEventListener('dashboard:site', siteChosen);
$('chat-search').addEventListener('submit', (event) => { event.preventDefault(); loadChats(); });
$('chat-export').addEventListener('click', exportChats);
$('tab-chats').addEventListener('click', () => { if (!view.chats.length) loadChats(); });
$('tab-inbox').addEventListener('click', loadInbox);
$('inbox-all').addEventListener('change', loadInbox);
$('forget-visitor').addEventListener('click', () => askForget(view.reading));
$('forget-searched').addEventListener('click', () => askForget($('chat-visitor').value.trim()));
$('forget-cancel').addEventListener('click', () => $('forget-dialog').close());
$('forget-confirm').addEventListener('click', forget);
$('refresh').addEventListener('click', () => { loadInbox(); if (!$('chats').hidden) loadChats(); });
if (state.site) siteChosen();  // signed in before this module ran
