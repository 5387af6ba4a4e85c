// The agent console. Everything a visitor can type or influence is put on the page
// with textContent (never innerHTML): a hostile message is shown as text.
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var state = {token: null, socket: null, chats: {}, offers: {}, current: null, last: {}, canned: [],
    retry: 0, typingTimer: 0, sentTyping: 0, pending: {}};

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }
  function clock(ms) {
    return ms ? new Date(ms).toLocaleTimeString([], {hour: '2-digit', minute: '2-digit', second: '2-digit'}) : '';
  }
  function stamped(ms, text) {
    var li = el('li');
    var time = el('time', clock(ms));
    if (ms) time.dateTime = new Date(ms).toISOString();
    li.appendChild(time);
    li.appendChild(document.createTextNode(text));
    return li;
  }
  function send(frame) {
    if (state.socket && state.socket.readyState === 1) state.socket.send(JSON.stringify(frame));
  }

  // -- sign in and the connection ------------------------------------------------------------
  function connect() {
    var url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/v1/agent/ws';
    var socket = new WebSocket(url);
    state.socket = socket;
    $('connection').textContent = 'connecting…';
    socket.onopen = function () {
      socket.send(JSON.stringify({type: 'hello', token: state.token, status: $('status').value, last: state.last}));
    };
    socket.onmessage = function (e) { receive(JSON.parse(e.data)); };
    socket.onclose = function (e) {
      if (e.code === 4401) return signedOut('That token is not valid (or the agent is disabled).');
      if (e.code === 4409) return signedOut('This console was opened somewhere else.');
      $('connection').textContent = 'reconnecting…';
      state.retry = Math.min(state.retry + 1, 5);
      setTimeout(connect, 300 * state.retry);
    };
  }
  function signedOut(reason) {
    $('console').hidden = true;
    $('me').hidden = true;
    $('signin').hidden = false;
    $('signin-error').textContent = reason;
  }

  function receive(m) {
    switch (m.type) {
      case 'hello':
        state.retry = 0;
        state.canned = m.canned || [];
        $('agent-name').textContent = m.agent.name;
        $('status').value = m.status;
        $('signin').hidden = true;
        $('me').hidden = false;
        $('console').hidden = false;
        $('connection').textContent = 'connected';
        Object.keys(state.pending).forEach(function (cid) {  // never acknowledged: same id, stored once
          send({type: 'msg', chat: state.pending[cid].chat, cid: cid, text: state.pending[cid].text});
        });
        $('canned-hint').textContent = state.canned.length
          ? 'Canned: ' + state.canned.map(function (c) { return '/' + c.shortcut; }).join(' ') : '';
        break;
      case 'error': $('signin-error').textContent = m.message || m.error; break;
      case 'status': $('status').value = m.status; break;
      case 'load':  // "2 of 3 chats": the chats and offers held, of the agent's limit
        $('load').textContent = m.active + ' of ' + m.max + ' chats';
        $('load').className = m.active >= m.max ? 'full' : '';
        break;
      case 'colleagues': renderColleagues(m.agents || []); break;
      case 'transfer_failed':
        if (m.chat === state.current) $('transfer-note').textContent = TRANSFER_FAILED[m.reason] || 'Not transferred.';
        break;
      case 'offer': state.offers[m.chat.id] = m.chat; renderLists(); break;
      case 'withdrawn': case 'offer_gone':
        delete state.offers[m.chat];
        if (state.chats[m.chat] && m.type === 'withdrawn') { delete state.chats[m.chat]; if (state.current === m.chat) select(null); }
        renderLists();
        break;
      case 'chat':
        delete state.offers[m.chat.id];
        var known = state.chats[m.chat.id];
        state.chats[m.chat.id] = Object.assign(m.chat, {messages: known ? known.messages : [], visitorOnline: true});
        renderLists();
        if (!state.current || state.current === m.chat.id) select(m.chat.id);
        break;
      case 'msg': message(m); break;
      case 'ack': delete state.pending[m.cid]; break;
      case 'typing':
        if (m.chat === state.current) {
          $('typing').textContent = 'The visitor is typing…';
          clearTimeout(state.typingTimer);
          state.typingTimer = setTimeout(function () { $('typing').textContent = ''; }, 3000);
        }
        break;
      case 'visitor':
        var was = state.chats[m.chat] ? state.chats[m.chat].visitorOnline : true;
        if (state.chats[m.chat]) state.chats[m.chat].visitorOnline = m.online;
        if (m.chat === state.current && was !== m.online && state.chats[m.chat].state !== 'ended') {
          $('typing').textContent = m.online ? 'The visitor is back.' : 'The visitor is offline.';
        }
        break;
      case 'state': case 'ended':
        var chat = state.chats[m.chat];
        if (chat) chat.state = m.state || 'ended';
        if (m.chat === state.current) showControls(chat);
        renderLists();
        break;
      case 'closed':
        delete state.chats[m.chat];
        delete state.last[m.chat];
        if (state.current === m.chat) select(null);
        renderLists();
        break;
    }
  }

  function message(m) {
    var chat = state.chats[m.chat];
    if (!chat || chat.messages.some(function (x) { return x.id === m.id; })) return;
    chat.messages.push(m);
    state.last[m.chat] = Math.max(state.last[m.chat] || 0, m.id);
    if (m.chat === state.current) {
      renderMessage(m);
      if (m.from === 'visitor') $('typing').textContent = '';
    } else {
      chat.unread = true;
      renderLists();
    }
  }

  // -- rendering -------------------------------------------------------------------------------
  function renderLists() {
    var offers = $('offers'), chats = $('chats');
    offers.textContent = '';
    chats.textContent = '';
    Object.keys(state.offers).forEach(function (id) {
      var chat = state.offers[id];
      var li = el('li');
      var button = el('button', 'Accept · ' + label(chat), 'offer');
      button.dataset.chat = id;
      button.addEventListener('click', function () { send({type: 'accept', chat: id}); });
      li.appendChild(button);
      // Decline hands the offer to the next free agent at once (the server sends no withdrawn for it).
      var decline = el('button', 'Decline', 'decline');
      decline.dataset.chat = id;
      decline.setAttribute('aria-label', 'Decline · ' + label(chat));
      decline.addEventListener('click', function () {
        send({type: 'decline', chat: id});
        delete state.offers[id];
        renderLists();
      });
      li.appendChild(decline);
      offers.appendChild(li);
    });
    Object.keys(state.chats).forEach(function (id) {
      var chat = state.chats[id];
      var li = el('li');
      var button = el('button', label(chat) + (chat.state === 'ended' ? ' (ended)' : ''), chat.unread ? 'unread' : '');
      button.dataset.chat = id;
      button.setAttribute('aria-current', String(id === state.current));
      button.addEventListener('click', function () { select(id); });
      li.appendChild(button);
      chats.appendChild(li);
    });
  }
  function label(chat) {
    var ctx = chat.context || {};
    return (ctx.current_path || 'visitor') + ' · ' + (ctx.score != null ? Math.round(ctx.score * 100) + '%' : '');
  }

  function renderMessage(m) {
    var li = el('li', null, m.from);
    li.appendChild(el('span', (m.from === 'agent' ? (m.name || 'Agent') : m.from === 'visitor' ? 'Visitor' : '') +
      ' ' + clock(m.ts), 'meta'));
    li.appendChild(document.createTextNode(m.text));
    li.dataset.id = m.id;
    $('messages').appendChild(li);
    $('messages').scrollTop = $('messages').scrollHeight;
  }

  function select(id) {
    state.current = id;
    var chat = id && state.chats[id];
    $('empty').hidden = !!chat;
    $('thread').hidden = !chat;
    $('context-body').hidden = !chat;
    $('no-context').hidden = !!chat;
    $('messages').textContent = '';
    $('typing').textContent = '';
    if (chat) {
      chat.unread = false;
      chat.messages.forEach(renderMessage);
      renderContext(chat);
      showControls(chat);
      if (chat.state !== 'ended') $('text').focus();
    }
    renderLists();
  }

  // An ended chat is a transcript: nothing to send, nothing to end, no presence to report.
  function showControls(chat) {
    var ended = !chat || chat.state === 'ended';
    $('composer').hidden = ended;
    $('end').hidden = ended;
    $('transfer').hidden = ended;
    $('transfer-note').textContent = '';
    if (ended) $('typing').textContent = '';
    else send({type: 'colleagues'});
  }

  var TRANSFER_FAILED = {full: 'They have no free slot now.', offline: 'They are not online now.',
    disabled: 'That agent is disabled.', unknown_agent: 'No such agent.', same_agent: 'That is you.',
    not_your_chat: 'This chat is not yours any more.'};

  // Who a chat can go to: colleagues signed in, those online with a free slot first and selectable.
  function renderColleagues(agents) {
    var select = $('transfer-to');
    var seen = JSON.stringify(agents);
    if (select.dataset.seen === seen) return;  // unchanged: an open list is not redrawn under the pointer
    select.dataset.seen = seen;
    var chosen = select.value;
    select.textContent = '';
    agents.forEach(function (a) {
      var can = a.status === 'online' && a.free > 0;
      var option = el('option', (a.name || a.id) + (a.status !== 'online' ? ' (away)' : ' (' + a.free + ' free)'));
      option.value = a.id;
      option.disabled = !can;
      select.appendChild(option);
    });
    var first = agents.filter(function (a) { return a.status === 'online' && a.free > 0; })[0];
    var still = agents.filter(function (a) { return a.id === chosen && a.status === 'online' && a.free > 0; })[0];
    if (still || first) select.value = (still || first).id;
    if (!agents.length) select.appendChild(el('option', 'nobody else is signed in'));
    $('transfer').querySelector('button').disabled = !first;
  }

  function renderContext(chat) {
    var ctx = chat.context || {};
    var facts = $('facts');
    facts.textContent = '';
    var rows = [
      ['Score', ctx.score != null ? Math.round(ctx.score * 100) + '%' : '—'],
      ['Visitor', ctx.returning ? 'returning' : 'new'],
      ['Device', ctx.device || 'unknown'],
      ['Referrer', ctx.referrer || 'direct'],
      ['Now on', ctx.current_path || '—'],
      ['On site', ctx.time_on_site_s != null ? Math.round(ctx.time_on_site_s / 60) + ' min ' + (ctx.time_on_site_s % 60) + ' s' : '—'],
      ['Invited with', ctx.message || '—']
    ];
    rows.forEach(function (row) {
      facts.appendChild(el('dt', row[0]));
      facts.appendChild(el('dd', row[1], row[0] === 'Score' ? 'score' : ''));
    });
    var reasons = $('reasons');
    reasons.textContent = '';
    (ctx.reasons || []).forEach(function (r) { reasons.appendChild(el('li', r.replace(/_/g, ' '))); });
    var journey = $('journey');
    journey.textContent = '';
    (ctx.journey || []).forEach(function (p) { journey.appendChild(stamped(p.ts, p.path + (p.title ? ' — ' + p.title : ''))); });
    var signals = $('signals');
    signals.textContent = '';
    (ctx.signals || []).forEach(function (s) {
      signals.appendChild(stamped(s.ts, s.kind.replace(/_/g, ' ') + (s.detail ? ' · ' + s.detail : '')));
    });
    if (!(ctx.signals || []).length) signals.appendChild(el('li', 'none recorded'));
  }

  // -- composing -------------------------------------------------------------------------------
  function cannedFor(text) {
    var match = /^\/([a-z0-9_-]+)$/.exec(text.trim());
    if (!match) return null;
    var found = state.canned.filter(function (c) { return c.shortcut === match[1]; })[0];
    return found ? found.text : null;
  }

  function sendText() {
    var text = $('text').value;
    var canned = cannedFor(text);
    if (canned) text = canned;
    if (!text.trim() || !state.current) return;
    var cid = 'c' + Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
    state.pending[cid] = {chat: state.current, text: text};
    send({type: 'msg', chat: state.current, cid: cid, text: text});
    $('text').value = '';
  }

  document.addEventListener('DOMContentLoaded', function () {
    $('signin').addEventListener('submit', function (e) {
      e.preventDefault();
      state.token = $('token').value.trim();
      sessionStorage.setItem('tactful.agent', state.token);
      connect();
    });
    $('status').addEventListener('change', function () { send({type: 'status', status: $('status').value}); });
    $('composer').addEventListener('submit', function (e) { e.preventDefault(); sendText(); });
    $('text').addEventListener('keydown', function (e) {
      if (e.key === 'Tab') {
        var canned = cannedFor($('text').value);
        if (canned) { e.preventDefault(); $('text').value = canned; }
      } else if (e.key === 'Enter' && !e.shiftKey) {
        e.preventDefault();
        sendText();
      }
      if (Date.now() - state.sentTyping > 1500 && state.current) {
        state.sentTyping = Date.now();
        send({type: 'typing', chat: state.current});
      }
    });
    $('transfer-to').addEventListener('focus', function () { send({type: 'colleagues'}); });
    // Colleagues sign in, go away and fill up while a chat is open: the list is asked for again every few seconds.
    setInterval(function () {
      var chat = state.current && state.chats[state.current];
      if (chat && chat.state !== 'ended' && state.socket && state.socket.readyState === 1) send({type: 'colleagues'});
    }, 3000);
    $('transfer').addEventListener('submit', function (e) {
      e.preventDefault();
      var to = $('transfer-to').value;
      if (!state.current || !to) return;
      $('transfer-note').textContent = 'Transferring…';
      send({type: 'transfer', chat: state.current, to: to});
    });
    $('end').addEventListener('submit', function (e) {
      e.preventDefault();
      if (!state.current) return;
      send({type: 'end', chat: state.current, stuck: $('stuck').checked, resolved: $('resolved').checked});
      $('stuck').checked = false;
      $('resolved').checked = false;
    });
    // The sign-in link carries the token in the fragment, which never reaches a server log.
    var fromLink = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
    state.token = fromLink ? decodeURIComponent(fromLink[1]) : sessionStorage.getItem('tactful.agent');
    if (fromLink) {
      sessionStorage.setItem('tactful.agent', state.token);
      history.replaceState(null, '', location.pathname);
    }
    if (state.token) connect();
  });
})();
