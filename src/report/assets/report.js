/* dengbao report.html — inline script: language, filters, sorting, expanding, evidence links, print.
   It only reads and toggles what the page already contains; it never builds markup from text. */
(function () {
  'use strict';
  var doc = document.documentElement;
  var $ = function (id) { return document.getElementById(id); };
  var all = function (sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); };
  var table = $('items-table');
  var items = all('tbody.item');
  var fVerdict = $('f-verdict'), fLayer = $('f-layer'), fText = $('f-text'), count = $('count');
  var sortKey = 'order', sortDir = 1;

  items.forEach(function (it) { it.dbText = it.textContent.toLowerCase(); });

  function lang() { return doc.getAttribute('data-lang') === 'en' ? 'en' : 'zh'; }

  function setLang(l) {
    doc.setAttribute('data-lang', l);
    doc.setAttribute('lang', l === 'en' ? 'en' : 'zh-CN');
    all('[data-zh][data-en]').forEach(function (el) { el.textContent = el.getAttribute('data-' + l); });
    all('[data-ph-zh]').forEach(function (el) { el.setAttribute('placeholder', el.getAttribute('data-ph-' + l)); });
    document.title = doc.getAttribute('data-title-' + l) || document.title;
    apply();
  }

  function selectedText(sel) { return sel.options[sel.selectedIndex].textContent; }

  function apply() {
    var v = fVerdict.value, ly = fLayer.value, q = fText.value.trim().toLowerCase(), n = 0;
    items.forEach(function (it) {
      var ok = (!v || it.getAttribute('data-verdict') === v) &&
        (!ly || it.getAttribute('data-layer') === ly) &&
        (!q || it.dbText.indexOf(q) >= 0);
      it.hidden = !ok;
      if (ok) { n += 1; }
    });
    count.textContent = lang() === 'en' ? 'Showing ' + n + ' of ' + items.length : '显示 ' + n + ' / ' + items.length + ' 项';
    all('.card[data-verdict]').forEach(function (c) { c.classList.toggle('active', c.getAttribute('data-verdict') === v && v !== ''); });
    var parts = [];
    if (v) { parts.push(selectedText(fVerdict)); }
    if (ly) { parts.push(selectedText(fLayer)); }
    if (q) { parts.push('“' + fText.value.trim() + '”'); }
    $('print-filter').textContent = parts.length ? (lang() === 'en' ? 'Filter: ' : '筛选：') + parts.join(' · ') + ' (' + n + ')' : '';
  }

  function expand(it, open) {
    var d = it.querySelector('tr.detail'), btn = it.querySelector('button.toggle');
    d.hidden = !open;
    btn.setAttribute('aria-expanded', open ? 'true' : 'false');
    it.classList.toggle('open', open);
  }

  function num(it, key) { return Number(it.getAttribute('data-' + key)); }

  function sortBy(key) {
    if (key === sortKey) { sortDir = -sortDir; } else { sortKey = key; sortDir = key === 'sev' ? -1 : 1; }
    items.slice().sort(function (a, b) {
      var d = (num(a, key) - num(b, key)) * sortDir;
      return d !== 0 ? d : num(a, 'order') - num(b, 'order');
    }).forEach(function (it) { table.appendChild(it); });
    all('#items-table thead th').forEach(function (th) {
      var btn = th.querySelector('button.sort');
      if (!btn) { return; }
      th.setAttribute('aria-sort', btn.getAttribute('data-key') !== sortKey ? 'none' : (sortDir > 0 ? 'ascending' : 'descending'));
    });
  }

  /* Follows #item-… and #ev-… links: shows the item (clearing filters that hide it) or opens the evidence. */
  function reveal(hash) {
    if (!hash || hash.length < 2) { return; }
    var el = null;
    try { el = $(decodeURIComponent(hash.slice(1))); } catch (e) { return; }
    if (!el) { return; }
    if (el.matches('tbody.item')) {
      if (el.hidden) { fVerdict.value = ''; fLayer.value = ''; fText.value = ''; apply(); }
      expand(el, true);
      el.classList.add('flash');
      window.setTimeout(function () { el.classList.remove('flash'); }, 1500);
    } else if (el.matches('details.ev')) {
      el.open = true;
    }
    el.scrollIntoView({ block: 'start' });
  }

  $('lang-toggle').addEventListener('click', function () { setLang(lang() === 'en' ? 'zh' : 'en'); });
  fVerdict.addEventListener('change', apply);
  fLayer.addEventListener('change', apply);
  fText.addEventListener('input', apply);
  $('expand-all').addEventListener('click', function () { items.forEach(function (it) { if (!it.hidden) { expand(it, true); } }); });
  $('collapse-all').addEventListener('click', function () { items.forEach(function (it) { expand(it, false); }); });
  all('.card[data-verdict]').forEach(function (c) {
    c.addEventListener('click', function () {
      var v = c.getAttribute('data-verdict');
      fVerdict.value = fVerdict.value === v ? '' : v;
      apply();
      table.scrollIntoView({ block: 'start' });
    });
  });
  all('#items-table thead button.sort').forEach(function (b) {
    b.addEventListener('click', function () { sortBy(b.getAttribute('data-key')); });
  });
  table.addEventListener('click', function (e) {
    var row = e.target.closest('tr.row');
    if (!row || e.target.closest('a')) { return; }
    var it = row.parentNode;
    expand(it, it.querySelector('tr.detail').hidden);
  });
  window.addEventListener('hashchange', function () { reveal(window.location.hash); });

  /* Printing shows evidence bodies too: open every evidence block, and restore afterwards. */
  var reopened = [];
  window.addEventListener('beforeprint', function () {
    reopened = all('details.ev:not([open])');
    reopened.forEach(function (d) { d.open = true; });
  });
  window.addEventListener('afterprint', function () {
    reopened.forEach(function (d) { d.open = false; });
    reopened = [];
  });

  apply();
  reveal(window.location.hash);
  doc.setAttribute('data-ready', '1');
}());
