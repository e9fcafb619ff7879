// health_chart.js: loaded by metrics/health/panel.html (a static file, not inline: the
// Content-Security-Policy allows scripts from 'self' only).
(function () {
  "use strict";
  var canvas = document.getElementById("health-chart");
  var data = JSON.parse(document.getElementById("health-chart-data").textContent);
  if (!canvas || !window.Chart) return;
  var colours = { green: "#16a34a", yellow: "#eab308", red: "#dc2626", "": "#98a2b3" };
  var bandOf = function (i) { return colours[data.bands[i] || ""]; };
  var versionMarks = {
    id: "versionMarks",
    afterDatasetsDraw: function (chart) {
      var ctx = chart.ctx, x = chart.scales.x, area = chart.chartArea;
      data.markers.forEach(function (m) {
        var px = x.getPixelForValue(m.index);
        ctx.save();
        ctx.strokeStyle = "#475467"; ctx.setLineDash([4, 3]); ctx.lineWidth = 1;
        ctx.beginPath(); ctx.moveTo(px, area.top); ctx.lineTo(px, area.bottom); ctx.stroke();
        ctx.setLineDash([]); ctx.fillStyle = "#475467"; ctx.font = "11px system-ui, sans-serif";
        ctx.fillText(m.label, px + 4, area.top + 12);
        ctx.restore();
      });
    }
  };
  new window.Chart(canvas, {
    type: "line",
    data: {
      labels: data.labels,
      datasets: [{
        label: "Health score", data: data.scores, spanGaps: false, tension: 0.2, borderWidth: 2,
        pointRadius: 0, pointHoverRadius: 4,
        pointBackgroundColor: data.bands.map(function (b, i) { return bandOf(i); }),
        segment: { borderColor: function (ctx) { return bandOf(ctx.p1DataIndex); } }
      }, {
        label: "Green threshold", data: data.labels.map(function () { return data.green; }),
        borderColor: "rgba(22,163,74,.35)", borderDash: [2, 4], borderWidth: 1, pointRadius: 0
      }, {
        label: "Yellow threshold", data: data.labels.map(function () { return data.yellow; }),
        borderColor: "rgba(234,179,8,.45)", borderDash: [2, 4], borderWidth: 1, pointRadius: 0
      }]
    },
    options: {
      responsive: true, maintainAspectRatio: false, animation: false,
      interaction: { mode: "index", intersect: false },
      scales: { y: { min: 0, max: 100 }, x: { ticks: { maxTicksLimit: 8 } } },
      plugins: {
        legend: { display: false },
        tooltip: { filter: function (item) { return item.datasetIndex === 0; },
                   callbacks: { afterLabel: function (item) { return data.bands[item.dataIndex] || "not enough data"; } } }
      }
    },
    plugins: [versionMarks]
  });
})();
