// The outbox. Events wait in `pending` and are sealed into batches; a batch
// never changes after that, so a retry resends the very same events and the
// server recognises them instead of counting them twice. Batches wait in a
// bounded queue in localStorage until the API acknowledges them, so a reload or
// an outage loses nothing.

var FLUSH_MS = 5000;
// The protocol allows 200 events; smaller batches keep bodies well under the
// 64 KiB limits of the API and of keepalive requests.
var MAX_EVENTS = 100;
// When an outage outlasts this many batches the oldest go first.
var MAX_BATCHES = 50;
// The server refuses events more than a day older than sent_at.
var MAX_AGE_MS = 23 * 3600 * 1000;
var MAX_BACKOFF_MS = 60000;
var MAX_RETRY_AFTER_MS = 600000;
// Worth retrying: the server asked us to wait, or a gateway could not reach it.
var TRANSIENT = {429: 1, 502: 1, 503: 1, 504: 1};

var box = {pending: [], owner: null, batches: [], busy: null, timer: 0, due: 0, backoff: 0, retryAt: 0};

function persist() {
  save('q', {p: box.pending, o: box.owner, b: box.batches});
}

// Batches a previous page or an outage left behind go out before this page's.
function adoptStored() {
  var stored = load('q');
  if (!stored || !Array.isArray(stored.b)) return;
  box.batches = stored.b.concat(box.batches);
  if (Array.isArray(stored.p) && stored.p.length && stored.o) {
    box.batches.push({k: stored.o.k, v: stored.o.v, s: stored.o.s, e: stored.p});
  }
  trim();
  persist();
}

// An event may bring its own time (the form errors of one submit share one).
function record(event, urgent) {
  if (!T.on) return;
  event.ts = event.ts || now();
  var owner = {k: T.cfg.site, v: visitorId(), s: sessionId(true)};
  if (!box.owner || box.owner.s !== owner.s || box.owner.v !== owner.v) seal();
  box.owner = owner;
  box.pending.push(event);
  if (box.pending.length >= MAX_EVENTS) seal();
  persist();
  schedule(urgent ? 0 : FLUSH_MS);
}

function seal() {
  if (!box.pending.length) return;
  box.batches.push({k: box.owner.k, v: box.owner.v, s: box.owner.s, e: box.pending});
  box.pending = [];
  trim();
}

function trim() {
  var oldest = now() - MAX_AGE_MS;
  box.batches = box.batches.filter(function (batch) {
    return batch && Array.isArray(batch.e) && batch.e.length && batch.e[0].ts > oldest;
  });
  while (box.batches.length > MAX_BATCHES) box.batches.shift();
}

function remove(batch) {
  var index = box.batches.indexOf(batch);
  if (index >= 0) box.batches.splice(index, 1);
  persist();
}

function schedule(ms) {
  var due = Math.max(now() + ms, box.retryAt);
  if (box.timer && box.due <= due) return;
  clearTimeout(box.timer);
  box.due = due;
  box.timer = later(flush, due - now());
}

function flush() {
  box.timer = 0;
  seal();
  persist();
  send();
}

function collectUrl() {
  return T.cfg.api + '/v1/collect';
}

function bodyOf(batch) {
  return JSON.stringify({v: 1, site: batch.k, visitor: batch.v, session: batch.s, sent_at: now(), events: batch.e});
}

function send() {
  if (box.busy || !box.batches.length) return;
  if (now() < box.retryAt) return schedule(0);
  var batch = box.batches[0];
  var body = bodyOf(batch);
  box.busy = batch;
  // text/plain needs no CORS preflight; referrerPolicy 'origin' keeps the page's
  // query string (which may hold what the visitor typed) out of the Referer.
  fetch(collectUrl(), {
    method: 'POST', body: body, headers: {'Content-Type': 'text/plain'}, credentials: 'omit',
    keepalive: body.length < 32000, referrerPolicy: 'origin'
  }).then(guard(function (response) {
    answered(batch, response);
  }), guard(function () {
    retry(0);
  }));
}

function answered(batch, response) {
  box.busy = null;
  if (response.ok) {
    box.backoff = 0;
    box.retryAt = 0;
    remove(batch);
    response.json().then(guard(function (reply) {
      if (reply && reply.decision && T.decide) T.decide(reply.decision);
      // No invitation yet only because the evidence must hold a little longer: a
      // heartbeat then lets the engine decide again while the visitor sits still.
      var ms = reply && reply.recheck_in_ms;
      if (Number.isInteger(ms) && ms > 0 && D.visibilityState === 'visible') {
        clearTimeout(box.recheck);
        box.recheck = later(function () {
          record({t: 'heartbeat', visible: true}, true);
        }, Math.min(ms, 60000));
      }
    }), function () {});
  } else if (TRANSIENT[response.status]) {
    return retry(parseFloat(response.headers.get('Retry-After')) * 1000);
  } else if (response.status === 413 && batch.e.length > 1) {
    var half = Math.ceil(batch.e.length / 2);
    var index = box.batches.indexOf(batch);
    box.batches.splice(index, 1, {k: batch.k, v: batch.v, s: batch.s, e: batch.e.slice(0, half)},
      {k: batch.k, v: batch.v, s: batch.s, e: batch.e.slice(half)});
    persist();
  } else {
    // 4xx: the batch itself is wrong (or the site refuses it); resending cannot help.
    remove(batch);
  }
  send();
}

// Exponential backoff with jitter, so pages recovering from one outage do not
// come back in lockstep; a Retry-After from the server wins.
function retry(hintMs) {
  box.busy = null;
  box.backoff = Math.min(MAX_BACKOFF_MS, box.backoff ? box.backoff * 2 : 1000);
  var wait = hintMs > 0 ? Math.min(hintMs, MAX_RETRY_AFTER_MS) : box.backoff * (0.5 + Math.random() / 2);
  box.retryAt = now() + wait;
  schedule(0);
}

// The page is going away or out of sight: hand everything to sendBeacon, which
// outlives the page. Its outcome is unknown, so during an outage the batches also
// stay queued for the next page (the server drops the duplicates). A recheck the
// engine asked for is dropped: it is for a visitor who is looking.
function beaconAll() {
  clearTimeout(box.recheck);
  seal();
  var keep = box.backoff > 0;
  box.batches.slice().forEach(function (batch) {
    if (batch === box.busy) return;
    var handed = W.navigator.sendBeacon && W.navigator.sendBeacon(collectUrl(), bodyOf(batch));
    if (handed && !keep) remove(batch);
  });
  persist();
}

function retryNow() {
  box.retryAt = 0;
  schedule(0);
}

function clearOutbox() {
  clearTimeout(box.timer);
  box.timer = 0;
  box.pending = [];
  box.batches = [];
  box.owner = null;
}
