// mrr_history.js: loaded by metrics/panels/revenue.html (a static file, not inline: the
// Content-Security-Policy allows scripts from 'self' only).
// The x axis is time (days since the epoch on a linear scale, so no date adapter is needed): ledger rows are
// irregular, and one label per row drew ten months as wide as four weeks.
(function () {
  "use strict";
  var canvas = document.getElementById("mrr-history-chart");
  if (!canvas || !window.Chart) return;
  var points = JSON.parse(document.getElementById("mrr-history-data").textContent);
  if (!points.length) return;
  var DAY = 86400000;
  var day = function (iso) { return Date.parse(iso + "T00:00:00Z") / DAY; };
  var months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  var label = function (d, withDay) {
    var date = new Date(d * DAY);
    return (withDay ? date.getUTCDate() + " " : "") + months[date.getUTCMonth()] + " " + date.getUTCFullYear();
  };
  var money = function (v) { var n = Math.round(v); return (n < 0 ? "\u2212$" : "$") + Math.abs(n).toLocaleString("en-US"); };
  new window.Chart(canvas, {
    type: "line",
    data: { datasets: [{ label: "MRR", data: points.map(function (p) { return { x: day(p.date), y: p.mrr }; }),
                         stepped: true, borderColor: "#2563eb", backgroundColor: "rgba(37,99,235,.08)", fill: true,
                         pointRadius: 2 }] },
    options: { responsive: true, maintainAspectRatio: false, animation: false,
               plugins: { legend: { display: false },
                          tooltip: { callbacks: { title: function (items) { return label(items[0].parsed.x, true); },
                                                  label: function (c) { return "MRR " + money(c.parsed.y); } } } },
               scales: { y: { beginAtZero: true, ticks: { callback: money } },
                         x: { type: "linear", min: day(points[0].date), max: day(points[points.length - 1].date), ticks: { maxTicksLimit: 6, maxRotation: 0,
                                                        callback: function (v) { return label(v, false); } } } } }
  });
})();
