// mrr_history.js: loaded by metrics/panels/revenue.html (a static file, not inline: the
// Content-Security-Policy allows scripts from 'self' only).
(function () {
  "use strict";
  var canvas = document.getElementById("mrr-history-chart");
  if (!canvas || !window.Chart) return;
  var points = JSON.parse(document.getElementById("mrr-history-data").textContent);
  new window.Chart(canvas, {
    type: "line",
    data: { labels: points.map(function (p) { return p.date; }),
            datasets: [{ label: "MRR", data: points.map(function (p) { return p.mrr; }), stepped: true,
                         borderColor: "#2563eb", backgroundColor: "rgba(37,99,235,.08)", fill: true, pointRadius: 2 }] },
    options: { responsive: true, maintainAspectRatio: false, animation: false, plugins: { legend: { display: false } },
               scales: { y: { beginAtZero: true, ticks: { callback: function (v) { return "$" + v.toLocaleString(); } } },
                         x: { ticks: { maxTicksLimit: 8 } } } }
  });
})();
