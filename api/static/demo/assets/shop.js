/* Kettle & Co.: the demo shop's own script. It is an ordinary site script: all it
   knows of Tactful are the public tactful(...) calls any site would make. Text is
   set with textContent only. Some things are broken on purpose (the size guide,
   the coupon button, the picture that does not zoom) so you can struggle. */
(function () {
  'use strict';

  var PRODUCTS = [
    {slug: 'aurora-kettle', name: 'Aurora Kettle', price: 49, blurb: 'A 1.5 litre stovetop kettle with a whistle you can hear from the garden.'},
    {slug: 'ember-grinder', name: 'Ember Coffee Grinder', price: 89, blurb: 'Conical burrs, 40 grind settings, and a hopper that does not spill.'},
    {slug: 'tide-pan', name: 'Tide Cast-Iron Pan', price: 59, blurb: 'Pre-seasoned 26 cm skillet. Heavy in the right way.'},
    {slug: 'drift-mugs', name: 'Drift Mug Set (4)', price: 32, blurb: 'Four stoneware mugs in sea-glass glazes, dishwasher safe.'},
    {slug: 'pike-knife', name: 'Pike Chef\u2019s Knife', price: 74, blurb: 'A 20 cm blade of layered steel, balanced at the bolster.'},
    {slug: 'linen-apron', name: 'Linen Apron', price: 28, blurb: 'Washed linen with deep pockets, in three sizes.', sizes: ['S', 'M', 'L']}
  ];
  var CART_KEY = 'demo.cart';

  function h(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      node.setAttribute(name, attrs[name]);
    });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    });
    return node;
  }

  function money(value) {
    return '\u20ac' + value.toFixed(2);
  }

  function track() {
    if (window.tactful) window.tactful.apply(null, arguments);
  }

  function find(slug) {
    return PRODUCTS.filter(function (p) { return p.slug === slug; })[0];
  }

  function picture(product, big) {
    var index = PRODUCTS.indexOf(product);
    return h('div', {'class': 'pic hue-' + index + (big ? ' big' : ''), role: 'img', 'aria-label': product.name},
      [product.name.charAt(0)]);
  }

  var cart = {
    read: function () {
      try { return JSON.parse(localStorage.getItem(CART_KEY)) || []; } catch (e) { return []; }
    },
    write: function (lines) {
      localStorage.setItem(CART_KEY, JSON.stringify(lines));
      document.getElementById('cart-count').textContent = String(cart.count());
    },
    count: function () {
      return cart.read().reduce(function (n, line) { return n + line.qty; }, 0);
    },
    total: function () {
      return cart.read().reduce(function (sum, line) { return sum + find(line.slug).price * line.qty; }, 0);
    },
    add: function (slug, qty) {
      var lines = cart.read();
      var line = lines.filter(function (l) { return l.slug === slug; })[0];
      if (line) line.qty += qty; else lines.push({slug: slug, qty: qty});
      cart.write(lines);
    }
  };

  function header() {
    var form = h('form', {'class': 'search', action: '/demo/search', method: 'get', role: 'search'}, [
      h('label', {'for': 'q', 'class': 'skip'}, ['Search the shop']),
      h('input', {type: 'search', id: 'q', name: 'q', placeholder: 'Search kettles, pans\u2026'}),
      h('button', {type: 'submit'}, ['Search'])]);
    var top = document.getElementById('top');
    top.appendChild(h('div', {'class': 'wrap'}, [
      h('a', {'class': 'brand', href: '/demo'}, ['Kettle & Co.']),
      h('nav', {'aria-label': 'Main'}, [h('a', {href: '/demo'}, ['Shop']), h('a', {href: '/demo/help'}, ['Help'])]),
      form,
      h('a', {'class': 'cart-link', href: '/demo/cart'}, ['Cart (', h('span', {id: 'cart-count'}, [String(cart.count())]), ')'])
    ]));
    document.getElementById('footer').appendChild(h('p', {}, [
      'Kettle & Co. is the Tactful demo shop. Nothing here is for sale; struggle freely.']));
  }

  function grid(products) {
    return h('ul', {'class': 'grid'}, products.map(function (p) {
      return h('li', {'class': 'tile'}, [h('a', {href: '/demo/product/' + p.slug}, [
        picture(p), h('div', {'class': 'info'}, [h('h2', {}, [p.name]), h('span', {'class': 'price'}, [money(p.price)])])])]);
    }));
  }

  var pages = {};

  pages.home = function (main) {
    main.appendChild(h('section', {'class': 'hero'}, [h('h1', {}, ['Kitchen things that last']),
      h('p', {}, ['Small batch, properly made, and sent to you in five working days.'])]));
    main.appendChild(grid(PRODUCTS));
  };

  pages.product = function (main) {
    var product = find(location.pathname.split('/').pop());
    if (!product) {
      main.appendChild(h('h1', {}, ['We could not find that product']));
      return;
    }
    document.title = product.name + ' \u00b7 Kettle & Co.';
    var qty = h('select', {id: 'qty', name: 'qty'}, [1, 2, 3, 4].map(function (n) { return h('option', {}, [String(n)]); }));
    var status = h('p', {'class': 'status', role: 'status'});
    var add = h('button', {'class': 'btn', type: 'button', id: 'add-to-cart'}, ['Add to cart']);
    add.addEventListener('click', function () {
      var n = Number(qty.value);
      cart.add(product.slug, n);
      status.textContent = n + ' \u00d7 ' + product.name + ' added to your cart.';
      track('event', 'added_to_cart', product.price * n);
    });
    var details = [h('h1', {}, [product.name]), h('p', {'class': 'price'}, [money(product.price)]), h('p', {}, [product.blurb])];
    if (product.sizes) {
      details.push(h('label', {'for': 'size'}, ['Size']));
      details.push(h('select', {id: 'size', name: 'size'}, product.sizes.map(function (s) { return h('option', {}, [s]); })));
      // Looks like a link, does nothing: a dead click waiting to happen.
      details.push(h('p', {}, [h('span', {'class': 'fake-link', id: 'size-guide'}, ['Size guide'])]));
    }
    details.push(h('div', {'class': 'row'}, [h('label', {'for': 'qty'}, ['Quantity']), qty, add]));
    details.push(status);
    main.appendChild(h('div', {'class': 'product'}, [picture(product, true), h('div', {}, details)]));
  };

  pages.search = function (main) {
    var query = (new URLSearchParams(location.search).get('q') || '').trim();
    document.getElementById('q').value = query;
    var words = query.toLowerCase().split(/\s+/).filter(Boolean);
    var found = PRODUCTS.filter(function (p) {
      var text = (p.name + ' ' + p.blurb).toLowerCase();
      return words.length && words.every(function (w) { return text.indexOf(w) >= 0; });
    });
    main.appendChild(h('h1', {}, ['Search results']));
    if (found.length) {
      main.appendChild(h('p', {}, [found.length + ' products match \u201c' + query + '\u201d.']));
      main.appendChild(grid(found));
    } else {
      main.appendChild(h('p', {}, ['Nothing matches \u201c' + query + '\u201d. Try \u201ckettle\u201d or \u201cpan\u201d.']));
    }
    track('search', {results: found.length});
  };

  pages.cart = function (main) {
    main.appendChild(h('h1', {}, ['Your cart']));
    var lines = cart.read();
    if (!lines.length) {
      main.appendChild(h('p', {}, ['Your cart is empty. ', h('a', {href: '/demo'}, ['Keep shopping'])]));
      return;
    }
    var body = h('tbody', {}, lines.map(function (line) {
      var product = find(line.slug);
      var remove = h('button', {'class': 'btn secondary', type: 'button'}, ['Remove']);
      remove.addEventListener('click', function () {
        cart.write(cart.read().filter(function (l) { return l.slug !== line.slug; }));
        main.textContent = '';
        pages.cart(main);
      });
      return h('tr', {}, [h('td', {}, [product.name]), h('td', {}, [String(line.qty)]),
        h('td', {}, [money(product.price * line.qty)]), h('td', {}, [remove])]);
    }));
    main.appendChild(h('table', {}, [h('thead', {}, [h('tr', {}, ['Product', 'Qty', 'Price', ''].map(function (t) {
      return h('th', {scope: 'col'}, [t]);
    }))]), body]));
    main.appendChild(h('p', {'class': 'row'}, [h('strong', {}, ['Total ' + money(cart.total())])]));
    main.appendChild(h('a', {'class': 'btn', href: '/demo/checkout', id: 'to-checkout'}, ['Go to checkout']));
  };

  function luhn(digits) {
    var sum = 0;
    for (var i = 0; i < digits.length; i++) {
      var d = Number(digits[digits.length - 1 - i]);
      if (i % 2) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
      sum += d;
    }
    return digits.length >= 12 && sum % 10 === 0;
  }

  pages.checkout = function (main) {
    var form = document.getElementById('checkout');
    var card = document.getElementById('card');
    var cardError = document.getElementById('card-error');
    document.getElementById('order-total').textContent = money(cart.total());
    // The coupon button is broken on purpose: rage-click it.
    document.getElementById('apply-coupon').addEventListener('click', function () {});
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var ok = luhn(card.value.replace(/\D/g, ''));
      card.setAttribute('aria-invalid', ok ? 'false' : 'true');
      cardError.textContent = ok ? '' : 'That card number does not look right.';
      if (!ok) {
        card.focus();
        return;
      }
      var total = cart.total();
      cart.write([]);
      track('conversion', total);
      main.textContent = '';
      main.appendChild(h('h1', {}, ['Thank you!']));
      main.appendChild(h('p', {}, ['Your order is on its way (not really: this is a demo).']));
    });
  };

  var TOPICS = {
    shipping: ['Shipping', 'We send every order within two working days; delivery takes three more. Tracking arrives by email.'],
    returns: ['Returns', 'Changed your mind? Send it back within 30 days, unused, and we refund the full price.'],
    payments: ['Payments', 'We take the major cards. Your card is charged when the order ships, not before.'],
    contact: ['Contact', 'Write to hello@kettle.example or use the chat when it is offered: a person answers on weekdays.']
  };

  // The help centre is a small single-page app: topics are history.pushState routes.
  pages.help = function (main) {
    var nav = h('ul', {}, Object.keys(TOPICS).map(function (key) {
      var link = h('a', {href: '/demo/help/' + key, 'data-topic': key}, [TOPICS[key][0]]);
      link.addEventListener('click', function (event) {
        event.preventDefault();
        history.pushState({topic: key}, '', '/demo/help/' + key);
        show(key);
      });
      return h('li', {}, [link]);
    }));
    var article = h('article', {'aria-live': 'polite'});
    main.appendChild(h('h1', {}, ['Help centre']));
    main.appendChild(h('div', {'class': 'help'}, [h('nav', {'aria-label': 'Help topics'}, [nav]), article]));
    function show(key) {
      var topic = TOPICS[key] || TOPICS.shipping;
      article.textContent = '';
      article.appendChild(h('h2', {}, [topic[0]]));
      article.appendChild(h('p', {}, [topic[1]]));
      document.title = topic[0] + ' \u00b7 Help \u00b7 Kettle & Co.';
      Array.prototype.forEach.call(nav.querySelectorAll('a'), function (a) {
        if (a.getAttribute('data-topic') === key) a.setAttribute('aria-current', 'page');
        else a.removeAttribute('aria-current');
      });
    }
    window.addEventListener('popstate', function () {
      show(location.pathname.split('/')[3] || 'shipping');
    });
    show(location.pathname.split('/')[3] || 'shipping');
  };

  header();
  pages[document.body.getAttribute('data-page')](document.getElementById('main'));
})();
