// The one line that runs the bundle: the public face goes up and what the page queued is replayed. Last in
// every bundle, so the commands of every file before it (identify.js's too) are known by then.

guard(boot)();
