// Form errors, scrolling, idleness, exit intent, script errors and heartbeats.

var TICK_MS = 5000;
var HEARTBEAT_TICKS = 3;
var IDLE_MS = 30000;
var SCROLL_SETTLE_MS = 1000;
// A direction change counts after this much travel, so trackpad jitter is not a reversal.
var REVERSAL_PX = 80;
var ERROR_GAP_MS = 2000;
var ERRORS_PER_PAGE = 10;
var EXIT_GAP_MS = 10000;

var act = {ticks: 0, lastActive: 0, idleSince: 0, exitAt: 0, errors: 0, errorAt: 0, fieldAt: {}, attemptAt: 0};
var scroll = {top: 0, turnTop: 0, dir: 0, reversals: 0, maxTop: 0, reported: 0, timer: 0};

// Only the field's and the form's names leave the page, never a value.
function formError(el) {
  if (!el || el.nodeType !== 1 || isOurs(el)) return;
  var field = (el.getAttribute('name') || el.getAttribute('id') || el.localName).slice(0, 128);
  var form = el.form || el.closest('form');
  var formName = form ? form.getAttribute('id') || form.getAttribute('name') : null;
  var key = formName + '/' + field;
  // A submit fires `invalid` and the site's script often sets aria-invalid too: one error.
  if (now() - (act.fieldAt[key] || 0) < 1000) return;
  act.fieldAt[key] = now();
  var event = {t: 'form_error', field: field, ts: attemptAt()};
  if (formName) event.form = formName.slice(0, 128);
  record(event, true);
}

// One submit attempt is one task: the `invalid` cascade of checkValidity() or
// requestSubmit(), one per field, and the aria-invalid flips the site's handler
// makes in it (observed before the next task) all carry the first error's time,
// so the server can count ten empty fields as one failed attempt.
function attemptAt() {
  if (!act.attemptAt) {
    act.attemptAt = now();
    later(function () {
      act.attemptAt = 0;
    }, 0);
  }
  return act.attemptAt;
}

function watchForms() {
  listen(D, 'invalid', function (e) {
    formError(e.target);
  }, true);
  new MutationObserver(guard(function (changes) {
    if (!T.on) return;
    changes.forEach(function (change) {
      if (change.target.getAttribute('aria-invalid') === 'true' && change.oldValue !== 'true') formError(change.target);
    });
  })).observe(D.documentElement, {subtree: true, attributes: true, attributeFilter: ['aria-invalid'], attributeOldValue: true});
}

// The handler only reads scrollY; depth needs the layout, so it is measured once
// the scrolling settles.
function onScroll() {
  reacted();
  active();
  var top = W.scrollY;
  var dir = top > scroll.top ? 1 : top < scroll.top ? -1 : 0;
  if (dir && dir !== scroll.dir) {
    if (scroll.dir && Math.abs(scroll.top - scroll.turnTop) >= REVERSAL_PX) scroll.reversals++;
    scroll.dir = dir;
    scroll.turnTop = scroll.top;
  }
  scroll.top = top;
  if (top > scroll.maxTop) scroll.maxTop = top;
  clearTimeout(scroll.timer);
  scroll.timer = later(reportScroll, SCROLL_SETTLE_MS);
}

function reportScroll() {
  if (!T.on || (!scroll.maxTop && !scroll.reversals)) return;
  var height = Math.max(D.documentElement.scrollHeight, 1);
  var depth = Math.min(1, Math.round((scroll.maxTop + W.innerHeight) / height * 100) / 100);
  if (depth < scroll.reported + 0.05 && !scroll.reversals) return;
  record({t: 'scroll', depth: depth, reversals: scroll.reversals});
  scroll.reported = Math.max(scroll.reported, depth);
  scroll.reversals = 0;
}

function pageChanged() {
  clearTimeout(scroll.timer);
  scroll = {top: W.scrollY, turnTop: W.scrollY, dir: 0, reversals: 0, maxTop: W.scrollY, reported: 0, timer: 0};
}

// Coming back after 30 s or more reports the whole pause; the threshold itself is
// reported as it passes, so the engine hears about a stuck visitor while they are stuck.
function active() {
  var t = now();
  if (act.idleSince) record({t: 'idle', ms: Math.min(t - act.idleSince, 86400000)});
  act.idleSince = 0;
  act.lastActive = t;
}

function tick() {
  if (!T.on || D.visibilityState !== 'visible') return;
  if (!act.idleSince && now() - act.lastActive >= IDLE_MS) {
    act.idleSince = act.lastActive;
    record({t: 'idle', ms: now() - act.lastActive});
  }
  if (++act.ticks % HEARTBEAT_TICKS === 0) record({t: 'heartbeat', visible: true});
}

function onExit(e) {
  if (e.relatedTarget || e.clientY > 0 || now() - act.exitAt < EXIT_GAP_MS) return;
  if (!W.matchMedia || !W.matchMedia('(pointer: fine)').matches) return;
  act.exitAt = now();
  record({t: 'exit_intent'}, true);
}

// Nothing about the error leaves the page: its message could hold anything.
function onError() {
  if (act.errors >= ERRORS_PER_PAGE || now() - act.errorAt < ERROR_GAP_MS) return;
  act.errors++;
  act.errorAt = now();
  record({t: 'js_error'});
}

function onHidden() {
  if (D.visibilityState === 'hidden') {
    reportScroll();
    beaconAll();
  } else {
    active();
  }
}

function watchActivity() {
  act.lastActive = now();
  ['pointerdown', 'keydown', 'touchstart'].forEach(function (type) {
    listen(D, type, active, true);
  });
  listen(D, 'pointermove', function () {
    if (act.idleSince || now() - act.lastActive > 1000) active();
  }, true);
  listen(W, 'scroll', onScroll);
  listen(D, 'mouseout', onExit);
  listen(W, 'error', onError);
  listen(W, 'unhandledrejection', onError);
  listen(D, 'visibilitychange', onHidden);
  listen(W, 'pagehide', function () {
    reportScroll();
    beaconAll();
  });
  listen(W, 'online', retryNow);
  setInterval(guard(tick), TICK_MS);
}
