/* Surveys page: NPS and CSAT (left axis) and CES (right axis) by month, from the json_script data. Every month
   of the period is on the axis; a month without answers is a gap in the line, not a line drawn across it. */
(function () {
  "use strict";
  var canvas = document.getElementById("survey-chart");
  var source = document.getElementById("survey-chart-data");
  if (!canvas || !source || !window.Chart) return;
  var data = JSON.parse(source.textContent);
  new window.Chart(canvas, {
    type: "line",
    data: {
      labels: data.labels,
      datasets: [
        { label: "NPS", data: data.nps, borderColor: "#4f46e5", backgroundColor: "#4f46e5", yAxisID: "y", spanGaps: false, tension: 0.25 },
        { label: "CSAT %", data: data.csat, borderColor: "#16a34a", backgroundColor: "#16a34a", yAxisID: "y", spanGaps: false, tension: 0.25 },
        { label: "CES (1–7)", data: data.ces, borderColor: "#d97706", backgroundColor: "#d97706", yAxisID: "y2", spanGaps: false, tension: 0.25, borderDash: [6, 4] }
      ]
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: "index", intersect: false },
      elements: { point: { radius: 4 } },  // a month between two gaps is a lone point
      scales: {
        y: { min: -100, max: 100, title: { display: true, text: "NPS / CSAT %" } },
        y2: { position: "right", min: 1, max: 7, grid: { drawOnChartArea: false }, title: { display: true, text: "CES" } }
      },
      plugins: { legend: { position: "bottom" } }
    }
  });
})();
