// Who the visitor is, when the site knows (a signed-in customer), for the agent who chats with them:
// tactful('identify', {name, email}), and tactful('identify', null) to forget it (logout). Only in the
// full bundle: the tracker alone has no chat, so no one to tell. Nothing here reads the page.
// The same rules as the server's (tracker/protocol.py; tests/tracker/test_protocol.py holds them equal).
var NAME_OK = /^[^\s\x00-\x1f\x7f](?:[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?$/;
var EMAIL_OK = /^[^\s@<>()\[\],;:\\"\x00-\x1f\x7f]{1,64}@(?:[^\s@<>()\[\],;:\\"\x00-\x1f\x7f.]+\.)+[^\s@<>()\[\],;:\\"\x00-\x1f\x7f.]{2,}$/;
var PERSON = {name: [NAME_OK, 128], email: [EMAIL_OK, 254]};

// {name?, email?} to send, null for nobody (null, or nothing given), undefined when a field is not
// acceptable: such a call is ignored whole rather than half-applied.
function personOf(given) {
  if (given === null || given === undefined) return null;
  if (typeof given !== 'object') return undefined;
  var person = null;
  for (var key in PERSON) {
    var value = given[key];
    if (value === null || value === undefined) continue;
    if (typeof value !== 'string') return undefined;
    value = value.trim();
    if (!value) continue;
    if (value.length > PERSON[key][1] || !PERSON[key][0].test(value)) return undefined;
    person = person || {};
    person[key] = value;
  }
  return person;
}

// With the next batch. A reset goes out only if this browser ever sent someone ('w'), so the pages of
// visitors who never signed in send nothing.
function identifyNow() {
  if (!T.on || T.who === undefined) return;
  T.whoSent = true;
  if (T.who) {
    record({t: 'identify', name: T.who.name, email: T.who.email});
    save('w', 1);
  } else if (load('w')) {
    record({t: 'identify'});
    forget('w');
  }
}

// Each call replaces the one before; the same person again on this page sends nothing.
commands.identify = function (person) {
  var who = personOf(person);
  if (who === undefined) return;
  var same = JSON.stringify(who) === JSON.stringify(T.who);
  T.who = who;
  if (!same || !T.whoSent) identifyNow();
};

function unsendIdentity() {
  var keep = function (event) { return event.t !== 'identify'; };
  box.pending = box.pending.filter(keep);
  box.batches = box.batches.filter(function (batch) {
    batch.e = batch.e.filter(keep);
    return batch.e.length || batch === box.busy;
  });
}

// An opt-out forgets who the visitor is too. Someone identified while tracking was off (a refusal on an
// earlier page) is told once the visitor consents.
// A refusal's beacon carries none of it: who the visitor is, still waiting to be sent, stays here.
var consentAlone = commands.consent;
commands.consent = function (granted) {
  if (granted === false) unsendIdentity();
  consentAlone(granted);
  if (granted === false) {
    T.who = undefined;
    forget('w');
  } else {
    identifyNow();
  }
};
