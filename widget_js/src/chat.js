// The visitor's chat panel, opened when an invitation is accepted in agent mode
// (tactful._openChat). One WebSocket; messages carry ids, so after a dropped
// connection the panel resumes from the last id it showed and resends what was
// never acknowledged under the same client id (the server keeps it once).
// Every text goes in as a text node.
//
// A chat follows the visitor: the chat in progress is remembered (localStorage
// 'chat'), and every page of the site, every reload and every tab that loads the
// bundle reopens the panel with the whole conversation, until someone ends it.
// The panel's x ends the chat after a confirmation; a visitor who just leaves is
// ended by the server after a grace period (docs/configuration.md).

var CHAT_CSS = '.log{list-style:none;margin:10px 0;padding:0;max-height:300px;overflow:auto;display:flex;' +
  'flex-direction:column;gap:6px}.log li{padding:6px 9px;border-radius:9px;background:#f3f4f6;white-space:pre-wrap;' +
  'word-break:break-word;max-width:85%}.log .visitor{align-self:flex-end;background:#dbeafe}.log .system{' +
  'align-self:center;background:none;color:#57606a;font-size:13px}.typing{min-height:18px;font-size:13px;color:#57606a;margin:0}' +
  '.confirm{margin-top:10px;padding-top:10px;border-top:1px solid #d0d7de}';
var chat = null;
var chatSheet = null;

function openChatPanel(d, resumed) {
  if (chat || !d || !ID_RE.test(String(d.invite)) || !T.cfg) return;
  save('chat', {invite: d.invite});
  var host = el('div', {'data-tactful': 'chat'});
  var root = host.attachShadow({mode: 'open'});
  styleInto(root);
  try {
    if (!chatSheet) {
      chatSheet = new CSSStyleSheet();
      chatSheet.replaceSync(CHAT_CSS);
    }
    root.adoptedStyleSheets = root.adoptedStyleSheets.concat([chatSheet]);
  } catch (e) {
    root.appendChild(el('style', {}, [CHAT_CSS]));
  }
  var input = el('textarea', {'aria-label': 'Your message', maxlength: '4000', rows: '2'});
  var form = el('form', {}, [input, el('div', {'class': 'actions'}, [
    el('button', {type: 'submit', 'class': 'primary'}, ['Send']), button('End chat', endChat)])]);
  var box = el('section', {'class': 'card', role: 'dialog', 'aria-modal': 'false', 'aria-label': 'Chat'}, [
    el('div', {'class': 'head'}, [el('h2', {}, ['Chat with us']),
      button('\u00d7', confirmClose, {'class': 'x', 'aria-label': 'Close chat'})]),
    el('p', {'class': 'detail status', role: 'status'}, ['Connecting you with someone\u2026'])
  ]);
  var log = el('ol', {'class': 'log', 'aria-live': 'polite'});
  var typing = el('p', {'class': 'typing'});
  var body = el('div', {}, [log, typing, form]);
  box.appendChild(body);
  root.appendChild(box);
  D.body.appendChild(host);
  var key = 'c.' + d.invite;
  chat = {host: host, root: root, box: box, log: log, typing: typing, body: body, form: form, d: d, key: key, last: 0,
    memo: load(key) || {pending: {}}, seen: {}, socket: null, retry: 0, done: false, timer: 0, resumed: !!resumed};
  on(form, 'submit', function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    var cid = randomId('m_');
    chat.memo.pending[cid] = text;
    save(chat.key, chat.memo);
    sendFrame({type: 'msg', cid: cid, text: text});
    input.value = '';
  });
  on(input, 'keydown', function (e) {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      form.requestSubmit();
    } else if (now() - (chat.typed || 0) > 1500) {
      chat.typed = now();
      sendFrame({type: 'typing'});
    }
  });
  chatConnect();
  if (!resumed) input.focus();
}

// Another page, a reload, a second tab: the chat in progress comes back. Init may
// come after the bundle, so wait a little for it.
function resumeChat(tries) {
  var open = load('chat');
  if (!open || chat) return;
  if (!T.on) return tries < 40 && later(function () { resumeChat(tries + 1); }, 250);
  openChatPanel(open, true);
}

// A tab that was already open follows too: the chat started, or was closed, in another tab.
W.addEventListener('storage', guard(function (e) {
  if (e.key !== PREFIX + 'chat') return;
  if (e.newValue && !chat) resumeChat(0);
  else if (!e.newValue && chat) removeChat();
}));
later(function () { resumeChat(0); }, 0);

function sendFrame(frame) {
  if (chat && chat.socket && chat.socket.readyState === 1) chat.socket.send(JSON.stringify(frame));
}

function chatConnect() {
  var c = chat;
  var url = c && T.cfg.api.replace(/^http/, 'ws') + '/v1/chat/ws?site=' + encodeURIComponent(T.cfg.site) +
    '&visitor=' + encodeURIComponent(visitorId()) + '&chat=' + encodeURIComponent(c.d.invite) + '&last=' + c.last;
  if (!c || c.done) return;
  var socket = new WebSocket(url);
  c.socket = socket;
  socket.onopen = guard(function () {
    c.retry = 0;
    if (c.ending) return endAndClose(c);
    Object.keys(c.memo.pending).forEach(function (cid) {
      socket.send(JSON.stringify({type: 'msg', cid: cid, text: c.memo.pending[cid]}));
    });
  });
  socket.onmessage = guard(function (e) {
    chatReceive(c, JSON.parse(e.data));
  });
  socket.onclose = guard(function (e) {
    if (chat !== c || c.done) return;
    if (e.code === 4403) {
      forget('chat');
      return c.resumed ? removeChat() : chatStatus(c, 'This chat is no longer available.');
    }
    c.retry = Math.min(c.retry + 1, 6);
    c.timer = later(chatConnect, 400 * c.retry);
  });
}

function chatStatus(c, text) {
  c.box.querySelector('.status').textContent = text;
}

function chatReceive(c, m) {
  if (m.type === 'msg' && !c.seen[m.id]) {
    c.seen[m.id] = 1;
    c.last = Math.max(c.last, m.id);
    if (m.cid && m.from === 'visitor') delete c.memo.pending[m.cid];
    save(c.key, c.memo);
    var who = m.from === 'agent' ? (m.name || 'Agent') + ': ' : '';
    c.log.appendChild(el('li', {'class': m.from}, [who + m.text]));
    c.log.scrollTop = c.log.scrollHeight;
    if (m.from === 'agent') c.typing.textContent = '';
  } else if (m.type === 'ack') {
    delete c.memo.pending[m.cid];
    save(c.key, c.memo);
  } else if (m.type === 'typing') {
    c.typing.textContent = 'Typing\u2026';
    clearTimeout(c.typingTimer);
    c.typingTimer = later(function () { c.typing.textContent = ''; }, 3000);
  } else if (m.type === 'state') {
    var over = m.state === 'missed' || m.state === 'ended';
    // Reopened on another page only to find it over (ended in another tab, or long ago): stay away.
    if (over && c.resumed && !c.live) return removeChat(true);
    c.live = true;
    if (over) forget('chat');
    if (m.state !== 'waiting') queued(c, null);
    if (m.state === 'active' && c.leaving) {
      c.leaving = false;
      composer(c);
    }
    if (m.state === 'active') chatStatus(c, (m.agent_name || 'Someone') + ' is here to help.');
    else if (m.state === 'waiting') queued(c, m);
    else if (m.state === 'missed') chatMissed(c, m.fallback);
    else if (m.end_reason === 'visitor_data_deleted') chatDeleted(c);
    else if (m.end_reason === 'left_message') chatLeftMessage(c);
    else if (m.state === 'ended') m.fallback ? chatMissed(c, m.fallback) : chatEnded(c);
  }
}

// Waiting for a busy team: about how long, and (when the site takes messages) a way
// to leave one instead of waiting. The server sends the wait when it changes.
function queued(c, m) {
  if (!m) {
    if (c.queue) c.queue.remove();
    c.queue = null;
    return;
  }
  if (typeof m.expected_wait_s !== 'number') {
    if (!c.queue) chatStatus(c, 'Connecting you with someone\u2026');
    return;
  }
  var longer = typeof m.wait_limit_s === 'number' && m.expected_wait_s > m.wait_limit_s;
  chatStatus(c, 'Everyone is busy with other customers. ' + (longer
    ? 'It may take longer than we can keep you waiting (' + waitWords(m.wait_limit_s) + ').'
    : 'Expected wait: ' + waitWords(m.expected_wait_s) + '.'));
  if (c.queue || c.leaving || !m.leave_message) return;
  c.queue = el('div', {'class': 'actions queue'}, [button('Leave a message instead', function () {
    queued(c, null);
    c.leaving = true;
    c.body.textContent = '';
    c.body.appendChild(c.log);
    c.body.appendChild(leaveForm(c, function () {
      c.leaving = false;
      composer(c);
      queued(c, m);
    }));
    c.body.querySelector('input').focus();
  })]);
  c.box.insertBefore(c.queue, c.body);
}

// Back to chatting (someone took the chat while the visitor looked at the message form).
function composer(c) {
  c.body.textContent = '';
  [c.log, c.typing, c.form].forEach(function (node) { c.body.appendChild(node); });
}

function chatLeftMessage(c) {
  c.done = true;
  chatStatus(c, 'Thank you. We will answer by email.');
  c.body.textContent = '';
  c.body.appendChild(c.log);
}

// The site deleted the visitor's data, this chat with it: no rating, and the messages go from the panel too.
function chatDeleted(c) {
  c.done = true;
  chatStatus(c, 'This chat has ended, and its messages have been deleted.');
  c.log.textContent = '';
  c.body.textContent = '';
}

// Nobody could take it (every agent gone, or the queue wait over): the site's
// fallback as the server sends it (triggers/unanswered.py): quick answers
// without the handoff, the offline message, or only an apology; and, when the
// site offers it, the leave-a-message form.
function chatMissed(c, f) {
  c.done = true;
  f = f || {message: 'Sorry, nobody is free right now.', leave_message: true};
  var menu = f.menu && Array.isArray(f.menu.items) ? f.menu.items : null;
  // The apology itself is in the log (the server's system message); the status says what is on offer.
  var hint = (menu ? 'Maybe one of these helps? ' : '') +
    (f.leave_message ? (menu ? 'Or leave' : 'Leave') + ' us a message and we will reply by email.' : '');
  chatStatus(c, (hint || text(f.message)) + (f.opening_hours ? ' Opening hours: ' + text(f.opening_hours) + '.' : ''));
  c.body.textContent = '';
  c.body.appendChild(c.log);
  if (menu) c.body.appendChild(quickAnswers(c, menu, []));
  if (f.leave_message) c.body.appendChild(leaveForm(c));
}

function quickAnswers(c, items, trail) {
  var list = el('ul', {'class': 'menu', 'aria-label': 'Topics'});
  function swap(next) {
    var fresh = quickAnswers(c, next[0], next[1]);
    list.replaceWith(fresh);
    var first = fresh.querySelector('button,a');
    if (first) first.focus();
  }
  items.forEach(function (item) {
    if (!item || !text(item.label) || item.handoff) return;
    var url = safeUrl(item.url);
    list.appendChild(el('li', {}, [url ? el('a', {'class': 'link', href: url}, [text(item.label, 80)])
      : button(text(item.label, 80), function () {
        if (Array.isArray(item.children) && item.children.length) return swap([item.children, trail.concat([items])]);
        c.log.appendChild(el('li', {'class': 'system'}, [text(item.answer, 1000)]));
        c.log.scrollTop = c.log.scrollHeight;
      })]));
  });
  if (trail.length) list.appendChild(el('li', {}, [button('Back', function () {
    swap([trail[trail.length - 1], trail.slice(0, -1)]);
  })]));
  return list;
}

// The leave-a-message form; with ``back``, a "Keep waiting" button returns to the queue.
function leaveForm(c, back) {
  var form = el('form', {}, [
    el('label', {}, ['Your email', el('input', {type: 'email', name: 'email', required: '', autocomplete: 'email'})]),
    el('label', {}, ['Message', el('textarea', {name: 'message', required: '', maxlength: '2000'})]),
    el('div', {'class': 'actions'}, [el('button', {type: 'submit', 'class': 'primary'}, ['Send']),
      back ? button('Keep waiting', back) : null])]);
  on(form, 'submit', function (e) {
    e.preventDefault();
    sendOffline(c.d, {email: form.elements.email.value, message: form.elements.message.value}).then(guard(function () {
      chatStatus(c, 'Thank you. We will answer by email.');
      form.remove();
    }), guard(function () {
      chatStatus(c, 'Sorry, your message could not be sent. Please try again.');
    }));
  });
  return form;
}

function chatEnded(c) {
  c.done = true;
  chatStatus(c, 'The chat has ended. How did we do?');
  var stars = el('div', {'class': 'actions', role: 'group', 'aria-label': 'Rate this chat'});
  [1, 2, 3, 4, 5].forEach(function (n) {
    stars.appendChild(button(n + '\u2605', function () {
      sendFrame({type: 'rate', score: n});
      stars.textContent = 'Thank you!';
    }, {'aria-label': n + ' of 5'}));
  });
  c.body.textContent = '';
  c.body.appendChild(c.log);
  c.body.appendChild(stars);
}

function endChat() {
  sendFrame({type: 'end'});
}

// The x: a chat that is over just closes; one in progress asks first, and ends.
function confirmClose() {
  var c = chat;
  if (!c) return;
  if (c.done) return removeChat(true);
  if (c.confirm) return;
  var yes = button('End chat', function () { endAndClose(c); }, {'class': 'primary'});
  c.confirm = el('div', {'class': 'confirm', role: 'alertdialog', 'aria-label': 'End the chat?'}, [
    el('p', {}, ['End this chat? You can\u2019t come back to it.']),
    el('div', {'class': 'actions'}, [yes, button('Keep chatting', function () {
      c.confirm.remove();
      c.confirm = null;
    })])]);
  c.box.appendChild(c.confirm);
  yes.focus();
}

function endAndClose(c) {
  c.ending = true;
  if (!c.socket || c.socket.readyState !== 1) return chatStatus(c, 'Ending the chat\u2026');
  c.socket.send(JSON.stringify({type: 'end'}));
  removeChat(true);
}

function removeChat(forgetIt) {
  var c = chat;
  if (!c) return;
  c.done = true;
  clearTimeout(c.timer);
  if (c.socket) c.socket.close();
  if (forgetIt) {
    forget(c.key);
    forget('chat');
  }
  c.host.remove();
  chat = null;
}

function sendOffline(d, fields) {
  return fetch(T.cfg.api + '/v1/chat/offline', {method: 'POST', headers: {'Content-Type': 'text/plain'},
    body: JSON.stringify({site: T.cfg.site, visitor: visitorId(), chat: d.invite, email: fields.email,
      message: fields.message})}).then(function (response) {
    if (!response.ok) throw new Error('not stored');
  });
}

tactful._openChat = openChatPanel;
tactful._leaveMessage = sendOffline;
