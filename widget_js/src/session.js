// Who is visiting: a visitor id kept in localStorage and a session id that is
// replaced after 30 minutes without events (docs/protocol.md).

var SESSION_IDLE_MS = 30 * 60 * 1000;

function visitorId() {
  var visitor = load('v');
  if (typeof visitor !== 'string' || !ID_RE.test(visitor)) {
    visitor = randomId('v_');
    save('v', visitor);
  }
  return visitor;
}

// Read on every event rather than cached, so tabs of the same visitor share one
// session and a long-idle tab starts a new one when it wakes up.
function sessionId(touch) {
  var t = now();
  var session = load('s');
  if (!session || typeof session.id !== 'string' || !ID_RE.test(session.id) || t - session.at > SESSION_IDLE_MS) {
    session = {id: randomId('s_'), at: t};
  } else if (!touch) {
    return session.id;
  }
  session.at = t;
  save('s', session);
  return session.id;
}

// Do Not Track / Global Privacy Control, honoured only when the site asks for it.
function privacySignal() {
  var n = W.navigator;
  return n.globalPrivacyControl === true || n.doNotTrack === '1' || W.doNotTrack === '1';
}

function forgetVisitor() {
  ['v', 's', 'q', 'd'].forEach(forget);
}
