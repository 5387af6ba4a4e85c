// Clicks, rage clicks and dead clicks, with the thresholds docs/protocol.md
// publishes so the server and the browser agree on what they mean.

var RAGE_PX = 30;
var RAGE_GAP_MS = 1000;
var RAGE_MIN = 3;
var DEAD_MS = 1000;

var streak = [];
var streakTimer = 0;
var watch = null;
var observer = null;

function onClick(e) {
  var target = e.target;
  if (!target || target.nodeType !== 1 || isOurs(target)) return;
  var sel = selectorOf(target);
  record({t: 'click', x: Math.round(e.pageX), y: Math.round(e.pageY), sel: sel});
  rage(e.clientX, e.clientY, sel);
  if (!watch && expectsReaction(target)) watchForReaction(sel);
}

// 3+ clicks within 30 px of each other, each within 1 s of the previous. Reported
// once, when the streak ends, with its full count.
function rage(x, y, sel) {
  var t = now();
  var last = streak[streak.length - 1];
  var close = last && t - last.t <= RAGE_GAP_MS && streak.every(function (c) {
    return Math.hypot(c.x - x, c.y - y) <= RAGE_PX;
  });
  if (!close) endStreak();
  streak.push({x: x, y: y, t: t, sel: sel});
  clearTimeout(streakTimer);
  streakTimer = later(endStreak, RAGE_GAP_MS);
}

function endStreak() {
  if (streak.length >= RAGE_MIN) record({t: 'rage_click', count: streak.length, sel: streak[0].sel}, true);
  streak = [];
}

// A dead click is a click on something that looks like it should respond. Form
// controls are left out: their reactions (a checked box, a caret) are not DOM
// mutations. Real links are left out: they navigate.
function expectsReaction(el) {
  if (el.closest('input,select,textarea,label,option,video,audio,[contenteditable]')) return false;
  var selection = W.getSelection && W.getSelection();
  if (selection && !selection.isCollapsed) return false;
  var link = el.closest('a[href]');
  if (link) return /^(#|javascript:)/i.test(link.getAttribute('href'));
  if (el.closest('button,summary,[role=button],[role=link],[role=tab],[role=menuitem],[onclick]')) return true;
  return /^(img|svg|picture)$/.test(el.localName) || /^(pointer|zoom-in)$/.test(W.getComputedStyle(el).cursor);
}

// One watch at a time: further clicks while it runs are the same attempt (the
// rage click reports them), so a frustrated burst is one dead click, not five.
function watchForReaction(sel) {
  watch = {sel: sel, timer: later(function () {
    settle(true);
  }, DEAD_MS)};
  observer = observer || new MutationObserver(guard(reacted));
  observer.observe(D.documentElement, {subtree: true, childList: true, attributes: true, characterData: true});
}

// Something happened (DOM, navigation, scroll, focus): the click was not dead.
function reacted() {
  settle(false);
}

function settle(dead) {
  if (!watch) return;
  clearTimeout(watch.timer);
  observer.disconnect();
  if (dead) record({t: 'dead_click', sel: watch.sel}, true);
  watch = null;
}

function watchClicks() {
  listen(D, 'click', onClick, true);
  listen(D, 'focusin', reacted, true);
  listen(D, 'focusout', reacted, true);
  listen(W, 'blur', reacted);
}
