// Shared helpers. The bundle is plain ES2017 concatenated into one closure by the
// API (api/routes/pages.py), in the order widget_js/bundles.json gives; start.js,
// last, is what starts it, so a file can be read on its own.

var W = window;
var D = document;
var PREFIX = 'tactful.';
var ID_RE = /^[A-Za-z0-9_-]{8,64}$/;
// Internal state shared by the modules: config, on/off switch, hooks between files.
var T = {cfg: null, on: false, mem: {}};

function now() {
  return Date.now();
}

// Every callback handed to the browser goes through guard(): an error in the
// tracker must never surface on the host page, whatever the page did to us.
function guard(fn) {
  return function () {
    try {
      return fn.apply(this, arguments);
    } catch (e) {
      T.faults = (T.faults || 0) + 1;
    }
  };
}

// Passive, guarded, and inert while tracking is off (consent withdrawn, DNT).
function listen(target, type, fn, capture) {
  target.addEventListener(type, guard(function (e) {
    if (T.on) fn(e);
  }), {passive: true, capture: !!capture});
}

function later(fn, ms) {
  return setTimeout(guard(fn), ms);
}

// localStorage throws in some private modes and when full: fall back to memory
// for this page so the tracker keeps working, only without persistence.
function load(key) {
  try {
    var text = W.localStorage.getItem(PREFIX + key);
    if (text !== null) return JSON.parse(text);
  } catch (e) {}
  return key in T.mem ? T.mem[key] : null;
}

function save(key, value) {
  T.mem[key] = value;
  try {
    W.localStorage.setItem(PREFIX + key, JSON.stringify(value));
  } catch (e) {}
}

function forget(key) {
  delete T.mem[key];
  try {
    W.localStorage.removeItem(PREFIX + key);
  } catch (e) {}
}

function randomId(prefix) {
  var bytes = new Uint8Array(10);
  var out = prefix;
  if (W.crypto && W.crypto.getRandomValues) W.crypto.getRandomValues(bytes);
  else for (var i = 0; i < 10; i++) bytes[i] = Math.random() * 256;
  for (var j = 0; j < 10; j++) out += (bytes[j] + 256).toString(16).slice(1);
  return out;
}

// Only plain identifiers make it into a selector: ids or classes that carry
// data (emails, numbers with dots, user names with spaces) are left out.
var SAFE_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,39}$/;

function selectorOf(el) {
  var parts = [];
  for (var depth = 0; el && el.nodeType === 1 && depth < 3; depth++) {
    var id = el.getAttribute('id');
    if (id && SAFE_NAME.test(id)) {
      parts.unshift(el.localName + '#' + id);
      break;
    }
    var classes = (el.getAttribute('class') || '').split(/\s+/).filter(function (c) {
      return SAFE_NAME.test(c);
    });
    parts.unshift(el.localName + (classes.length ? '.' + classes.slice(0, 2).join('.') : ''));
    el = el.parentElement;
  }
  return parts.join('>').slice(0, 256);
}

// The tracker's own UI (the invitation's shadow host) is not the page's.
function isOurs(el) {
  return !!(el && el.closest && el.closest('[data-tactful]'));
}
