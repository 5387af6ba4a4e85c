// Clicks, rage clicks and dead clicks, with the thresholds docs/protocol.md
// publishes so the server and the browser agree on what they mean.

var RAGE_PX = 30;
var RAGE_GAP_MS = 1000;
var RAGE_MIN = 3;
var DEAD_MS = 1000;
// Where clicking again and again is how one edits: fields, their labels.
var EDITING = 'input:not([type=button]):not([type=submit]):not([type=reset]):not([type=image]),textarea,select,label';
// Steppers are clicked again and again on purpose, and their reaction (a new
// value) is no DOM mutation: a number field (its spin buttons are part of it),
// an ARIA spin button and what is inside it, and a button labelled as a step
// (+, -, Increase..., Decrement...) within two levels of one (its parent's parent
// holds it: Bootstrap 4 wraps the button once).
var STEPPER = 'input[type=number],[role=spinbutton]';
var STEP_LABEL = /^([+\-\u2212\u2013]$|(in|de)cre(ase|ment)|plus\b|minus\b)/i;
// No reaction is due: form controls (a checked box, a caret: no DOM mutation),
// controls disabled by design, and links whose effect is elsewhere (a download,
// another tab or window).
var INERT = 'input,select,textarea,label,option,video,audio,[contenteditable],:disabled,[aria-disabled=true],' +
  '[download],[href][target]:not([target=_self]):not([target=""]),[formtarget]:not([formtarget=_self]):not([formtarget=""])';

var streak = [];
var streakTimer = 0;
var watch = null;
var observer = null;

function onClick(e) {
  var target = e.target;
  if (!target || target.nodeType !== 1 || isOurs(target)) return;
  var sel = selectorOf(target);
  record({t: 'click', x: Math.round(e.pageX), y: Math.round(e.pageY), sel: sel});
  if (deliberate(e, target)) return;
  // A double or triple click on text selects it: reading. On something that looks
  // clickable the selection is only a side effect of clicking fast.
  var reading = selecting(target) && !looksClickable(target);
  if (!reading && !target.closest(EDITING) && !target.isContentEditable) rage(e.clientX, e.clientY, sel);
  if (!watch && expectsReaction(target)) watchForReaction(sel);
}

// Neither rage nor dead: a click with a modifier (a new tab, a selection
// extended), a stepper, or what the site marked with data-tactful-ignore.
function deliberate(e, el) {
  if (e.ctrlKey || e.metaKey || e.shiftKey || e.altKey || el.closest('[data-tactful-ignore],' + STEPPER)) return true;
  var button = el.closest('button,[role=button]');
  var around = button && button.parentElement.parentElement;
  return !!around && STEP_LABEL.test((button.getAttribute('aria-label') || button.textContent).trim()) &&
    !!around.querySelector(STEPPER);
}

// Text selected in the clicked element. A selection elsewhere does not count: a
// button click leaves the page's selection as it was.
function selecting(el) {
  var selection = W.getSelection && W.getSelection();
  return !!selection && !selection.isCollapsed && selection.getRangeAt(0).intersectsNode(el);
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

// A dead click is a click on something that looks like it should respond, on
// this page, now. Real links are left out: they navigate.
function expectsReaction(el) {
  if (el.closest(INERT) || selecting(el)) return false;
  var link = el.closest('a[href]');
  if (link) return /^(#|javascript:)/i.test(link.getAttribute('href'));
  return looksClickable(el);
}

function looksClickable(el) {
  if (el.closest('a[href],button,summary,[role=button],[role=link],[role=tab],[role=menuitem],[onclick]')) return true;
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
