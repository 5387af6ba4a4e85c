// Page views, including single-page-app route changes.

var page = {path: null, url: null, start: 0, timer: 0};

// Query strings often carry what the visitor typed (?q=, ?email=): by default
// only utm_* parameters are kept, plus those the site lists in `query`.
function pagePath() {
  var kept = [];
  var allowed = T.cfg.query;
  W.location.search.slice(1).split('&').forEach(function (pair) {
    var name = pair.split('=')[0];
    if (name.indexOf('utm_') === 0 || allowed.indexOf(name) >= 0) kept.push(pair);
  });
  return (W.location.pathname + (kept.length ? '?' + kept.join('&') : '')).slice(0, 2048);
}

// Origin and path only, for the same reason.
function cleanUrl(url) {
  var match = /^(https?:\/\/[^/?#]*)([^?#]*)/.exec(url || '');
  return match ? (match[1] + match[2]).slice(0, 2048) : '';
}

function pageView() {
  var path = pagePath();
  if (path === page.path) return;
  var event = {t: 'page_view', path: path, vw: W.innerWidth | 0};
  // The referrer is where the visitor came from: another site. A link between the site's own pages (or a
  // route change in a single-page app) refers nobody; it would mask a visitor who came straight in.
  var ref = page.url === null ? cleanUrl(D.referrer) : '';
  var own = W.location.origin;
  if (D.title) event.title = D.title.slice(0, 512);
  if (ref && ref !== own && ref.indexOf(own + '/') !== 0) event.ref = ref;
  page.path = path;
  page.url = cleanUrl(W.location.href);
  page.start = now();
  pageChanged();
  record(event);
}

// Routers change the title after the URL: wait a moment so the page view carries the new one.
function routeChanged() {
  reacted();
  clearTimeout(page.timer);
  page.timer = later(pageView, 100);
}

function watchHistory() {
  ['pushState', 'replaceState'].forEach(function (name) {
    var original = W.history[name];
    if (typeof original !== 'function') return;
    W.history[name] = function () {
      var result = original.apply(this, arguments);
      if (T.on) guard(routeChanged)();
      return result;
    };
  });
  listen(W, 'popstate', routeChanged);
  listen(W, 'hashchange', reacted);
}
