// The agent console. Everything a visitor can type or influence is put on the page
// with textContent (never innerHTML): a hostile message is shown as text.
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var NOTHING_SELECTED = $('empty').textContent;
  var state = {token: null, socket: null, chats: {}, offers: {}, current: null, last: {}, canned: [],
    retry: 0, typingTimer: 0, sentTyping: 0, pending: {}, signedIn: false};

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
  // Frames go out once the server has answered hello: a message typed while reconnecting stays pending
  // and is resent after the ones typed before it, so the visitor reads them in the order typed.
  function send(frame) {
    if (state.signedIn && state.socket && state.socket.readyState === 1) state.socket.send(JSON.stringify(frame));
  }

  // -- sign in and the connection ------------------------------------------------------------
  function connect() {
    var url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/v1/agent/ws';
    var socket = new WebSocket(url);
    state.socket = socket;
    state.signedIn = false;
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
        state.signedIn = true;
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
        renderCannedHint();
        break;
      case 'error': $('signin-error').textContent = m.message || m.error; break;
      case 'status': $('status').value = m.status; break;
      case 'load':  // "2 of 3 chats": the chats and offers held, of the agent's limit
        $('load').textContent = m.active + ' of ' + m.max + ' chats';
        $('load').className = m.active >= m.max ? 'full' : '';
        break;
      case 'colleagues': renderColleagues(m.agents || []); break;
      case 'context':  // the visitor now: merged over what was known when the chat was requested
        var live = state.chats[m.chat];
        if (!live) break;
        live.context = Object.assign({}, live.context || {}, m.context, {received: Date.now()});
        if (m.past) live.past = m.past;
        if (m.chat === state.current) renderContext(live);
        renderLists();
        break;
      case 'canned': state.canned = m.canned || []; renderCannedHint(); break;
      case 'site': renderSite(m); break;
      case 'transfer_failed':
        if (m.chat === state.current) $('transfer-note').textContent = TRANSFER_FAILED[m.reason] || 'Not transferred.';
        break;
      case 'offer':
        if (!state.offers[m.chat.id]) announce(m.chat);
        state.offers[m.chat.id] = m.chat;
        renderLists();
        break;
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
      case 'ended':
        if (m.reason === 'visitor_data_deleted') {  // the chat is gone with the visitor's data: so is our copy
          delete state.offers[m.chat];
          delete state.chats[m.chat];
          delete state.last[m.chat];
          if (state.current === m.chat) select(null);
          $('empty').textContent = 'A chat ended: an admin deleted the visitor\'s data, and the chat with it.';
          renderLists();
          break;
        }
        // falls through: any other end is shown as the chat's state
      case 'state':
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

  // -- offers are announced: a tone (unless Sound is off) and, with permission, a desktop notification
  var audio = null;
  function tone() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context || !$('sound').checked) return;
    try {
      audio = audio || new Context();
      var osc = audio.createOscillator(), gain = audio.createGain();
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.15, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.4);
      osc.connect(gain);
      gain.connect(audio.destination);
      osc.start();
      osc.stop(audio.currentTime + 0.4);
    } catch (e) { /* no audio device: the list still shows the offer */ }
  }
  function announce(chat) {
    tone();
    if (!('Notification' in window) || Notification.permission !== 'granted') return;
    var note = new Notification('Chat offered: ' + label(chat), {
      body: (chat.context && chat.context.message) || 'A visitor could use help.', tag: 'tactful-' + chat.id
    });
    note.onclick = function () { window.focus(); note.close(); };
  }
  function offerNotifications() {
    var button = $('notify');
    button.hidden = !('Notification' in window) || Notification.permission !== 'default';
  }

  function renderCannedHint() {
    $('canned-hint').textContent = state.canned.length
      ? 'Canned: ' + state.canned.map(function (c) { return '/' + c.shortcut; }).join(' ') : '';
  }

  // Outside the site's hours visitors get the leave-a-message card and no chat is offered: say so.
  function renderSite(m) {
    var banner = $('closed-banner');
    banner.hidden = m.open;
    if (m.open) return;
    var opens = m.next_opening ? new Date(m.next_opening) : null;
    banner.textContent = 'The site is closed now.' + (m.opening_hours ? ' Hours: ' + m.opening_hours + '.' : '') +
      ' Visitors can leave a message; no chats are offered' +
      (opens ? ' until ' + opens.toLocaleString([], {weekday: 'short', hour: '2-digit', minute: '2-digit'}) : '') + '.';
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
    var name = ctx.identity && ctx.identity.name;
    return (name || ctx.current_path || 'visitor') + ' · ' + (ctx.score != null ? Math.round(ctx.score * 100) + '%' : '');
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
    if (chat) $('empty').textContent = NOTHING_SELECTED;  // a note about a deleted chat is read by then
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
      if (chat.state !== 'ended') {
        $('text').focus();
        send({type: 'context', chat: id, past: !chat.past});
      }
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

  // Time on site as of now: the last answer's figure plus the time since it arrived.
  function onSite(ctx) {
    if (ctx.time_on_site_s == null) return '—';
    var s = ctx.time_on_site_s + (ctx.received ? Math.floor((Date.now() - ctx.received) / 1000) : 0);
    return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
  }

  function renderContext(chat) {
    var ctx = chat.context || {};
    var facts = $('facts');
    facts.textContent = '';
    // Who the visitor is, only when the site said so (tactful('identify', ...)); gone again after a logout.
    var who = ctx.identity || {};
    if (who.name) {
      facts.appendChild(el('dt', 'Name'));
      var name = el('dd', who.name);
      name.id = 'who-name';
      facts.appendChild(name);
    }
    if (who.email) {
      facts.appendChild(el('dt', 'Email'));
      var email = el('dd');
      email.id = 'who-email';
      var mail = el('a', who.email);
      mail.href = 'mailto:' + encodeURIComponent(who.email).replace('%40', '@');
      email.appendChild(mail);
      facts.appendChild(email);
    }
    var rows = [
      ['Score', ctx.score != null ? Math.round(ctx.score * 100) + '%' : '—'],
      ['Visitor', ctx.returning ? 'returning' : 'new'],
      ['Device', ctx.device || 'unknown'],
      ['Referrer', ctx.referrer || 'direct'],
      ['Now on', ctx.current_path || '—'],
      ['On site', onSite(ctx)],
      ['Invited with', ctx.message || '—']
    ];
    rows.forEach(function (row) {
      facts.appendChild(el('dt', row[0]));
      var dd = el('dd', row[1], row[0] === 'Score' ? 'score' : '');
      if (row[0] === 'On site') dd.id = 'on-site';
      if (row[0] === 'Now on') dd.id = 'now-on';
      facts.appendChild(dd);
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
      var li = stamped(s.ts, s.kind.replace(/_/g, ' ') + (s.detail ? ' · ' + s.detail : ''));
      if (chat.created_ms && s.ts > chat.created_ms) {  // since the chat began: what the agent has not seen
        li.className = 'new';
        li.appendChild(el('span', 'new', 'tag'));
      }
      signals.appendChild(li);
    });
    if (!(ctx.signals || []).length) signals.appendChild(el('li', 'none recorded'));
    var past = $('past');
    past.textContent = '';
    (chat.past || []).forEach(function (p) {
      var how = p.state === 'missed' ? 'missed' : (p.end_reason || p.state).replace(/_/g, ' ');
      var verdict = p.outcome ? (p.outcome.resolved ? ', resolved' : ', not resolved') : '';
      var li = stamped(p.created_ms, ' ' + new Date(p.created_ms).toLocaleDateString() + ' · ' + how +
        (p.agent_name ? ' · ' + p.agent_name : '') + verdict + (p.csat != null ? ' · rated ' + p.csat : ''));
      if (p.first) li.appendChild(el('q', p.first));
      past.appendChild(li);
    });
    if (!(chat.past || []).length) past.appendChild(el('li', chat.past ? 'none' : '…'));
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
    // Colleagues sign in, go away and fill up, and the visitor moves on, while a chat is open: the list of
    // colleagues and the visitor's context are asked for again every few seconds, time on site ticks each second.
    setInterval(function () {
      var chat = state.current && state.chats[state.current];
      if (chat && chat.state !== 'ended') {
        send({type: 'colleagues'});
        send({type: 'context', chat: state.current});
      }
    }, 3000);
    setInterval(function () {
      var chat = state.current && state.chats[state.current];
      if (chat && $('on-site')) $('on-site').textContent = onSite(chat.context || {});
    }, 1000);
    offerNotifications();
    $('notify').addEventListener('click', function () {
      Notification.requestPermission().then(offerNotifications);
    });
    $('sound').checked = localStorage.getItem('tactful.sound') !== 'off';
    $('sound').addEventListener('change', function () {
      localStorage.setItem('tactful.sound', $('sound').checked ? 'on' : 'off');
      if ($('sound').checked) tone();  // a user gesture: the browser lets the audio start from here on
    });
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
