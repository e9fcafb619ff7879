/* The backtest page's calibration chart (docs/health.md#backtest-page-and-job): every
   <canvas data-calibration="<json_script id>"> is drawn with the vendored Chart.js, on load and whenever htmx
   swaps a finished report in. The same figures are in the calibration table below the chart. */
(function () {
  "use strict";
  var colours = ["#3730a3", "#6366f1", "#a5b4fc", "#e0e7ff"];  /* darker: the nearer horizon; not the band colours */

  function draw(root) {
    if (!window.Chart) return;
    root.querySelectorAll("canvas[data-calibration]").forEach(function (canvas) {
      if (canvas.dataset.drawn) return;
      var source = document.getElementById(canvas.dataset.calibration);
      if (!source) return;
      canvas.dataset.drawn = "1";
      var data = JSON.parse(source.textContent);
      new window.Chart(canvas, {
        type: "bar",
        data: {
          labels: data.labels,
          datasets: data.series.map(function (s, i) {
            return { label: "Churned within " + s.label, data: s.data, backgroundColor: colours[i % colours.length] };
          })
        },
        options: {
          responsive: true, maintainAspectRatio: false, animation: false,
          scales: {
            x: { title: { display: true, text: "Health score (tenths of the scored customers, lowest first)" } },
            y: { beginAtZero: true, title: { display: true, text: "Churned (%)" } }
          },
          plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } }
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (evt) { draw(evt.target || document); });
})();
