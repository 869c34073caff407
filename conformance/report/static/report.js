// The matrix report's script, inlined into the page: the legend filter and the cell counts;
// it marks the page data-artconf-ready once it ran (the browser test waits for it).
(function () {
  var root = document.currentScript && document.currentScript.closest('.artconf');
  root = root || document.querySelector('.artconf');
  var items = document.querySelectorAll('.artconf .legend .item');
  var rows = document.querySelectorAll('.artconf table.grid tbody tr');
  var active = null;
  function apply() {
    items.forEach(function (it) { it.classList.toggle('active', it.dataset.state === active); });
    rows.forEach(function (row) {
      var hit = !active || row.querySelector('td.cell[data-state="' + active + '"]');
      row.classList.toggle('dimmed', !hit);
    });
  }
  items.forEach(function (it) {
    it.addEventListener('click', function () {
      active = active === it.dataset.state ? null : it.dataset.state;
      apply();
    });
  });
  var counts = {};
  document.querySelectorAll('.artconf td.cell').forEach(function (td) {
    counts[td.dataset.state] = (counts[td.dataset.state] || 0) + 1;
  });
  items.forEach(function (it) {
    var n = it.querySelector('.n');
    if (n) { n.textContent = '(' + (counts[it.dataset.state] || 0) + ')'; }
  });
  document.documentElement.setAttribute('data-artconf-ready', 'yes');
})();
