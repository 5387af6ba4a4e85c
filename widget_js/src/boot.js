// The public face, window.tactful(command, ...args), and the start-up that
// replays what the loader snippet queued before the bundle arrived (start.js runs it).

var SITE_RE = /^[A-Za-z0-9_-]{1,64}$/;
var NAME_RE = /^[A-Za-z0-9_.:-]{1,64}$/;
var early = [];
// Captured while the bundle runs: the default API origin is where it came from.
var script = D.currentScript;

function money(value) {
  return typeof value === 'number' && isFinite(value) && Math.abs(value) <= 1e9;
}

var commands = {
  init: function (options) {
    if (T.cfg || !options || !SITE_RE.test(options.site)) return;
    var from = script && script.src ? new URL(script.src).origin : W.location.origin;
    T.cfg = {
      site: options.site,
      api: String(options.api || from).replace(/\/+$/, ''),
      respectDnt: options.respectDnt === true,
      query: Array.isArray(options.query) ? options.query.map(String) : []
    };
    start();
  },
  event: function (name, value) {
    if (!NAME_RE.test(name)) return;
    var event = {t: 'custom', name: name};
    if (money(value)) event.value = value;
    record(event);
  },
  // An empty search waits for the next flush: most are a typo put right by the
  // next search. Searching in vain again, or putting it right, is sent at once.
  search: function (options) {
    var results = options && options.results;
    if (!Number.isInteger(results) || results < 0) return;
    record({t: 'search', results: results}, load('se') === 0);
    save('se', results);
  },
  conversion: function (value) {
    var event = {t: 'conversion'};
    if (money(value)) event.value = value;
    record(event, true);
  },
  // consent(false): say so once, then stop and forget the ids; the refusal itself
  // is remembered so the next page does not start tracking again.
  consent: function (granted) {
    if (granted === false) {
      if (T.on) {
        record({t: 'custom', name: 'tactful.opt_out'}, true);
        beaconAll();
      }
      T.on = false;
      clearOutbox();
      forgetVisitor();
      save('optout', 1);
      if (T.closeInvite) T.closeInvite();
    } else if (granted === true) {
      forget('optout');
      if (T.cfg) start();
    }
  }
};

function start() {
  if (T.on || load('optout') || (T.cfg.respectDnt && privacySignal())) return;
  T.on = true;
  if (!T.watching) {
    T.watching = true;
    watchHistory();
    watchClicks();
    watchForms();
    watchActivity();
  }
  adoptStored();
  page.path = null;
  pageView();
  schedule(0);
}

// Commands other than init wait for it, whatever order the site called them in.
function run(args) {
  var name = args[0];
  if (!commands.hasOwnProperty(name)) return;
  if (!T.cfg && name !== 'init' && name !== 'consent') return early.push(args);
  commands[name].apply(null, [].slice.call(args, 1));
  if (name === 'init' && T.cfg) {
    var queued = early;
    early = [];
    queued.forEach(run);
  }
}

function tactful() {
  var args = arguments;
  guard(run)(args);
}

function boot() {
  var stub = W.tactful;
  // The bundle on the page twice: the first copy owns it.
  if (stub && stub.loaded) return;
  var queued = stub && stub.q && stub.q.length ? [].slice.call(stub.q) : [];
  // Keep what the page hung on the stub (a chat panel's _openChat, say).
  if (typeof stub === 'function') Object.keys(stub).forEach(function (key) {
    if (key !== 'q') tactful[key] = stub[key];
  });
  tactful.loaded = true;
  tactful.version = BUILD;
  W.tactful = tactful;
  queued.forEach(run);
}
