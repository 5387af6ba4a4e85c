// The invitation: a small non-modal card in a shadow root (the host page's CSS
// cannot reach it, its CSS cannot leak out). It never takes focus; a polite live
// region announces it; Tab, Enter and Escape work as anywhere else. Text goes in
// as text nodes only, never as HTML.

var INVITE_CSS = [
  ':host{all:initial;position:fixed;right:16px;bottom:16px;z-index:2147483000;color:#1f2328;',
  'font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}',
  '.card{box-sizing:border-box;width:320px;max-width:calc(100vw - 32px);background:#fff;border:1px solid #d0d7de;',
  'border-radius:12px;box-shadow:0 8px 28px rgba(0,0,0,.18);padding:16px}',
  '@media (prefers-reduced-motion:no-preference){.card{animation:tf-in .25s ease-out}}',
  '@keyframes tf-in{from{opacity:0;transform:translateY(12px)}to{opacity:1;transform:none}}',
  '.head{display:flex;align-items:flex-start;justify-content:space-between;gap:8px}',
  'h2{margin:0;font-size:16px;font-weight:600}p{margin:8px 0 0}.detail{color:#57606a;font-size:13px}',
  'button,input,textarea,a{font:inherit}',
  'button,.link{display:inline-block;box-sizing:border-box;cursor:pointer;border-radius:8px;padding:8px 14px;',
  'border:1px solid #8c959f;background:#fff;color:#1f2328;text-decoration:none}',
  'button:hover,.link:hover{background:#f3f4f6}',
  '.primary{background:#1d4ed8;border-color:#1d4ed8;color:#fff}.primary:hover{background:#1e40af}',
  '.x{border:0;background:none;font-size:20px;line-height:1;padding:2px 8px;margin:-4px -8px 0 0;color:#57606a}',
  ':focus-visible{outline:3px solid #1d4ed8;outline-offset:2px}',
  '.actions{display:flex;flex-wrap:wrap;gap:8px;margin-top:14px}',
  '.menu{list-style:none;margin:12px 0 0;padding:0;display:grid;gap:6px}.menu button,.menu .link{width:100%;text-align:left}',
  '.wait{display:block;font-size:12px;color:#57606a}.primary .wait{color:#e0e7ff}[hidden]{display:none}',
  'label{display:block;font-size:13px;margin-top:10px}',
  'input,textarea{box-sizing:border-box;width:100%;margin-top:4px;padding:8px;border:1px solid #8c959f;border-radius:6px}',
  'textarea{min-height:72px;resize:vertical}.status{font-weight:600}',
  '.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}',
  '@media (max-width:480px){:host{left:8px;right:8px;bottom:8px}.card{width:auto;max-width:none}}'
].join('');

var TITLES = {agent: 'Chat with us', bot: 'Quick help', offline: 'Leave us a message'};
var card = null;
var sheet = null;

function el(tag, attrs, children) {
  var node = D.createElement(tag);
  Object.keys(attrs || {}).forEach(function (name) {
    if (attrs[name] !== null && attrs[name] !== undefined) node.setAttribute(name, attrs[name]);
  });
  (children || []).forEach(function (child) {
    if (child) node.appendChild(typeof child === 'string' ? D.createTextNode(child) : child);
  });
  return node;
}

// Plain listeners (not passive): forms need preventDefault. Guarded like the rest.
function on(node, type, fn) {
  node.addEventListener(type, guard(fn));
}

function button(label, fn, attrs) {
  var node = el('button', Object.assign({type: 'button'}, attrs), [label]);
  on(node, 'click', fn);
  return node;
}

// Constructed stylesheets are not inline styles: they work under a strict
// Content-Security-Policy that forbids 'unsafe-inline'.
function styleInto(root) {
  try {
    if (!sheet) {
      sheet = new CSSStyleSheet();
      sheet.replaceSync(INVITE_CSS);
    }
    root.adoptedStyleSheets = [sheet];
  } catch (e) {
    root.appendChild(el('style', {}, [INVITE_CSS]));
  }
}

function text(value, limit) {
  return typeof value === 'string' ? value.slice(0, limit || 500) : '';
}

// A wait in words: "less than a minute", "about 3 min".
function waitWords(s) {
  return s < 60 ? 'less than a minute' : 'about ' + Math.round(s / 60) + ' min';
}

// Why no person answers, in words that fit: busy is not closed, and nobody signed in is not busy.
var NO_PERSON = {busy: 'Everyone is busy with other customers right now.',
  nobody: 'Nobody is online to chat right now.'};

function detailOf(d) {
  if (d.wait) return text(d.wait);
  var hours = text(d.hours || d.opening_hours);
  if (d.mode === 'agent' && typeof d.expected_wait_s === 'number') {
    return d.expected_wait_s < 60 ? 'Someone can answer right away.'
      : 'Expected wait: ' + waitWords(d.expected_wait_s) + '.';
  }
  if (d.mode !== 'agent' && NO_PERSON[d.person]) return NO_PERSON[d.person];
  var back = d.next_opening ? new Date(d.next_opening) : null;
  var when = back && !isNaN(back) ? ' We are back ' + back.toLocaleString([], {weekday: 'long', hour: '2-digit', minute: '2-digit'}) + '.' : '';
  return hours ? 'Opening hours: ' + hours + '.' + when : when.trim();
}

function showInvite(d) {
  var host = el('div', {'data-tactful': 'invite'});
  var root = host.attachShadow({mode: 'open'});
  styleInto(root);
  var title = TITLES[d.mode] || TITLES.agent;
  var menu = d.menu && (Array.isArray(d.menu) ? {items: d.menu} : d.menu);
  var message = text(d.message) || (menu && text(menu.greeting)) || 'Can we help?';
  var live = el('div', {'class': 'sr', role: 'status', 'aria-live': 'polite'});
  var body = el('div', {'class': 'body'});
  var box = el('section', {'class': 'card', role: 'dialog', 'aria-modal': 'false',
    'aria-labelledby': 'tf-title', 'aria-describedby': 'tf-message'}, [
    el('div', {'class': 'head'}, [el('h2', {id: 'tf-title'}, [title]),
      button('\u00d7', dismiss, {'class': 'x', 'aria-label': 'Dismiss'})]),
    el('p', {id: 'tf-message'}, [message]),
    el('p', {'class': 'detail', hidden: detailOf(d) ? null : ''}, [detailOf(d)]),
    body
  ]);
  card = {host: host, root: root, body: body, d: d, opener: null, timer: 0, engaged: false, said: {}, live: live,
    box: box};
  if (d.mode === 'bot' && menu && Array.isArray(menu.items)) showMenu(menu.items, []);
  else if (d.mode === 'offline') showOffline();
  else body.appendChild(el('div', {'class': 'actions'}, [
    button('Start chat', accept, {'class': 'primary'}), button('No thanks', dismiss)]));
  root.appendChild(live);
  root.appendChild(box);
  on(box, 'keydown', function (e) {
    if (e.key === 'Escape') dismiss();
  });
  on(box, 'focusin', function (e) {
    if (!card.opener && e.relatedTarget && !host.contains(e.relatedTarget)) card.opener = e.relatedTarget;
    card.engaged = true;
  });
  on(box, 'pointerenter', function () {
    card.engaged = true;
  });
  D.body.appendChild(host);
  // A live region speaks changes, not its first content: fill it once it is in the page.
  later(function () {
    live.textContent = title + ': ' + message;
  }, 150);
  if (d.expires_in > 0) card.timer = later(expire, d.expires_in * 1000);
  if (d.mode === 'agent') watchAgents(card);
  report('invite_shown');
}

// An agent invitation promises a person. While it is on show, ask now and then
// whether one is still there; when every agent has gone (or the site closed), the
// card becomes the site's fallback, so nobody accepts into a void.
var AGENTS_POLL_MS = 4000;

function watchAgents(c) {
  c.poll = later(function check() {
    if (card !== c) return;
    function again() {
      if (card === c) c.poll = later(check, AGENTS_POLL_MS);
    }
    fetch(T.cfg.api + '/v1/chat/availability?site=' + encodeURIComponent(T.cfg.site), {credentials: 'omit'})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(guard(function (a) {
        if (card !== c) return;
        if (a && a.answerable === false && a.fallback) fallBack(c, a.fallback);
        else again();
      }), guard(again));
  }, AGENTS_POLL_MS);
}

function fallBack(c, f) {
  var menu = f.mode === 'bot' && f.menu && Array.isArray(f.menu.items) ? f.menu : null;
  c.d = Object.assign({}, c.d, {mode: menu ? 'bot' : 'offline', leave_message: !!f.leave_message,
    hours: f.opening_hours, next_opening: f.next_opening, person: f.person, expected_wait_s: null});
  var title = TITLES[c.d.mode];
  var message = text(f.message) || (menu && text(menu.greeting));
  c.box.querySelector('h2').textContent = title;
  c.box.querySelector('#tf-message').textContent = message;
  var detail = c.box.querySelector('.detail');
  detail.textContent = detailOf(c.d);
  detail.hidden = !detail.textContent;
  c.live.textContent = title + ': ' + message;
  if (menu) return showMenu(menu.items, []);
  if (f.mode === 'offline' && c.d.leave_message) {
    c.body.textContent = '';
    return showOffline();
  }
  status(message);
}

function report(type) {
  if (card.said[type]) return;
  card.said[type] = true;
  record({t: type, invite: card.d.invite}, true);
}

// Unanswered for expires_in seconds, and not being looked at: leave quietly (an
// ignored invitation is not a dismissal).
function expire() {
  if (!card) return;
  if (card.engaged) return;
  closeInvite();
}

function dismiss() {
  report('invite_dismissed');
  save('d', sessionId(false));
  closeInvite();
}

function closeInvite() {
  if (!card) return;
  var hadFocus = D.activeElement === card.host;
  var opener = card.opener;
  clearTimeout(card.timer);
  clearTimeout(card.poll);
  card.host.remove();
  card = null;
  if (hadFocus && opener && opener.isConnected && opener.focus) opener.focus();
}

// Swap what the card shows. Focus follows only if it was already in the card
// (the visitor is using it); otherwise it stays wherever the visitor left it.
function swapBody(nodes) {
  var inside = !!card.root.activeElement;
  card.body.textContent = '';
  nodes.forEach(function (node) {
    if (node) card.body.appendChild(node);
  });
  var first = card.body.querySelector('button,a,input');
  if (inside && first) first.focus();
}

function status(message, role) {
  swapBody([el('p', {'class': 'status', role: role || 'status'}, [message]),
    el('div', {'class': 'actions'}, [button('Close', closeInvite)])]);
}

function accept() {
  report('invite_accepted');
  openChat();
}

// Seam for the chat panel: it defines tactful._openChat(decision) and takes over.
function openChat() {
  var chat = W.tactful && W.tactful._openChat;
  var d = card.d;
  if (typeof chat === 'function') {
    closeInvite();
    guard(chat)(d);
  } else {
    status('Live chat is not available on this page yet. Please try the help pages.');
  }
}

function safeUrl(url) {
  return typeof url === 'string' && /^(https?:\/\/|\/)/i.test(url) ? url : null;
}

// The bot menu: branches open their children, leaves show an answer, open a
// help page, or hand over to a person. Choosing anything counts as accepting.
function showMenu(items, trail) {
  var list = el('ul', {'class': 'menu', 'aria-label': 'Topics'});
  var wait = card.d.expected_wait_s;
  items.forEach(function (item) {
    if (!item || !text(item.label)) return;
    var url = safeUrl(item.url);
    // The handoff says how long a person takes (the decision's expected wait).
    var label = item.handoff && typeof wait === 'number'
      ? [text(item.label, 80), el('span', {'class': 'wait'}, [wait < 60 ? 'Someone can answer right away'
        : 'Wait: ' + waitWords(wait)])]
      : [text(item.label, 80)];
    var choice = url ? el('a', {'class': 'link', href: url}, label)
      : el('button', {type: 'button'}, label);
    if (!url) on(choice, 'click', function () {
      choose(item, items, trail);
    });
    if (url) on(choice, 'click', function () {
      report('invite_accepted');
    });
    list.appendChild(el('li', {}, [choice]));
  });
  // A way to reach the team whenever the site takes messages, beside (or instead of) a person.
  if (!trail.length && card.d.leave_message) list.appendChild(el('li', {}, [button('Leave us a message', function () {
    swapBody([]);
    showOffline();
    card.body.querySelector('input,button').focus();
  })]));
  swapBody([list, el('div', {'class': 'actions'}, [
    trail.length ? button('Back', function () {
      showMenu(trail[trail.length - 1], trail.slice(0, -1));
    }) : null,
    button('No thanks', dismiss)])]);
}

function choose(item, items, trail) {
  report('invite_accepted');
  if (item.handoff) return openChat();
  if (Array.isArray(item.children) && item.children.length) return showMenu(item.children, trail.concat([items]));
  swapBody([el('p', {'class': 'answer', role: 'status'}, [text(item.answer, 1000)]),
    el('div', {'class': 'actions'}, [button('Back', function () {
      showMenu(items, trail);
    }), button('Close', closeInvite)])]);
}

// Offline: opening hours (in the detail line) and, when the site offers it, a
// leave-a-message form. What the visitor types goes only to the seam below.
function showOffline() {
  var d = card.d;
  if (!d.leave_message && !d.offline) {
    card.body.appendChild(el('div', {'class': 'actions'}, [button('OK', dismiss)]));
    return;
  }
  var form = el('form', {'class': 'leave'}, [
    el('label', {}, ['Your email', el('input', {type: 'email', name: 'email', required: '', autocomplete: 'email'})]),
    el('label', {}, ['Message', el('textarea', {name: 'message', required: '', maxlength: '2000'})]),
    el('div', {'class': 'actions'}, [el('button', {type: 'submit', 'class': 'primary'}, ['Send']),
      button('No thanks', dismiss)])
  ]);
  on(form, 'submit', function (e) {
    e.preventDefault();
    var fields = {email: form.elements.email.value, message: form.elements.message.value};
    report('invite_accepted');
    leaveMessage(d, fields).then(guard(function () {
      if (card) status('Thank you. We will answer by email.');
    }), guard(function () {
      if (card) status('Sorry, your message could not be sent. Please try again later.', 'alert');
    }));
  });
  card.body.appendChild(form);
}

// Seam for the chat engineer: tactful._leaveMessage(decision, {email, message})
// returning a promise. Until it exists the form says plainly that nothing was sent.
function leaveMessage(d, fields) {
  var send = W.tactful && W.tactful._leaveMessage;
  return new Promise(function (resolve) {
    if (typeof send !== 'function') throw new Error('no leave-a-message seam yet');
    resolve(send(d, fields));
  });
}

T.decide = function (d) {
  if (card || !d || d.action !== 'invite' || !ID_RE.test(String(d.invite))) return;
  if (load('d') === sessionId(false)) return;
  showInvite(d);
};
T.closeInvite = closeInvite;
