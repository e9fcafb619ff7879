/* Dashboard charts: every <canvas data-chart="<json_script id>" data-kind="bands|retention"> is drawn with the
   vendored Chart.js, on load and whenever htmx swaps one in (the home page loads its trends that way). */
(function () {
  "use strict";
  var colours = { red: "#dc2626", yellow: "#eab308", green: "#16a34a", none: "#98a2b3" };
  var labels = { red: "Red", yellow: "Yellow", green: "Green", none: "No score" };

  function config(kind, data) {
    if (kind === "bands") {
      return {
        type: "bar",
        data: {
          labels: data.labels,
          datasets: ["red", "yellow", "green", "none"].map(function (band) {
            return { label: labels[band], data: data.series[band], backgroundColor: colours[band], stack: "bands" };
          })
        },
        options: {
          responsive: true, maintainAspectRatio: false, animation: false,
          scales: { x: { stacked: true, ticks: { maxTicksLimit: 6 } }, y: { stacked: true, beginAtZero: true } },
          plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } }
        }
      };
    }
    return {
      type: "line",
      data: {
        labels: data.labels,
        datasets: [
          { label: "NRR %", data: data.nrr, borderColor: "#4f46e5", backgroundColor: "#4f46e5", tension: 0.2, spanGaps: true },
          { label: "GRR %", data: data.grr, borderColor: "#16a34a", backgroundColor: "#16a34a", tension: 0.2, spanGaps: true }
        ]
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        scales: { x: { ticks: { maxTicksLimit: 6 } } },
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } }
      }
    };
  }

  function draw(root) {
    if (!window.Chart) return;
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas.dataset.drawn) return;
      var source = document.getElementById(canvas.dataset.chart);
      if (!source) return;
      canvas.dataset.drawn = "1";
      new window.Chart(canvas, config(canvas.dataset.kind, JSON.parse(source.textContent)));
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (evt) { draw(evt.target || document); });
})();
