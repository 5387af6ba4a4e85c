/* The Tactful loader snippet, as an external file so the demo runs under a
   Content-Security-Policy without 'unsafe-inline'. Sites usually paste the same
   lines inline (docs/embedding.md). The API is this page's own origin. */
(function (w, d, src) {
  if (w.tactful) return;
  w.tactful = function () {
    (w.tactful.q = w.tactful.q || []).push(arguments);
  };
  var s = d.createElement('script');
  s.async = true;
  s.src = src;
  d.head.appendChild(s);
})(window, document, location.origin + '/tactful.js');
tactful('init', {site: 'demo', api: location.origin});
