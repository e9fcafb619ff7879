/* Revenue page charts (Chart.js, vendored). Every chart's numbers are also in a table on the page. */
(function () {
  "use strict";
  if (typeof Chart === "undefined") return;
  // Negative amounts as "−$50,000" (a real minus sign before the dollar), as core.numbers.format_money does.
  var money = function (v) {
    var n = Math.round(v);
    return (n < 0 ? "\u2212$" : "$") + Math.abs(n).toLocaleString("en-US");
  };
  // Phones: axis titles would sit over the tick labels of a 300px-wide chart.
  var narrow = window.matchMedia("(max-width: 640px)").matches;
  var green = "#16a34a", red = "#dc2626", blue = "#2563eb", teal = "#0d9488", grey = "#64748b", amber = "#d97706";

  var bridgeEl = document.getElementById("revenue-bridge");
  if (bridgeEl) {
    var b = JSON.parse(bridgeEl.textContent);
    var steps = [
      ["Opening", 0, b.opening, grey],
      ["New", b.opening, b.opening + b.new, green],
      ["Expansion", b.opening + b.new, b.opening + b.new + b.expansion, teal],
      ["Reactivation", b.opening + b.new + b.expansion, b.opening + b.new + b.expansion + b.reactivation, blue],
    ];
    var afterUp = b.opening + b.new + b.expansion + b.reactivation;
    steps.push(["Contraction", afterUp - b.contraction, afterUp, amber]);
    steps.push(["Churn", afterUp - b.contraction - b.churn, afterUp - b.contraction, red]);
    steps.push(["Closing", 0, b.closing, grey]);
    // A floating waterfall scaled to the movements: from $0 a month's movements are slivers beside MRR.
    // The axis starts just below the lowest running total, and the note under the chart says so.
    var levels = [b.opening, afterUp, afterUp - b.contraction, b.closing,
      b.opening + b.new, b.opening + b.new + b.expansion];
    var lo = Math.min.apply(null, levels), hi = Math.max.apply(null, levels);
    var pad = Math.max((hi - lo) * 0.25, hi * 0.002, 1);
    var unit = Math.pow(10, Math.floor(Math.log10(pad)));  // a round number to start the axis at
    var yMin = hi - lo > 0 ? Math.max(0, Math.floor((lo - pad) / unit) * unit) : 0;
    if (yMin > 0) {
      var note = document.getElementById("bridge-note");
      note.textContent = "The axis starts at " + money(yMin) + ", not $0, so the movements can be seen; " +
        "the Opening and Closing bars are cut.";
      note.hidden = false;
    }
    new Chart(document.getElementById("bridge-chart"), {
      type: "bar",
      data: {
        labels: steps.map(function (s) { return s[0]; }),
        datasets: [{
          data: steps.map(function (s) { return [Math.max(s[1], yMin), s[2]]; }),
          backgroundColor: steps.map(function (s) { return s[3]; }),
          minBarLength: 2,
        }],
      },
      options: {
        maintainAspectRatio: false,
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { label: function (c) {
            var s = steps[c.dataIndex];
            var sign = s[0] === "Contraction" || s[0] === "Churn" ? -1 : 1;
            return money(sign * (s[2] - s[1]));
          } } },
        },
        scales: { y: { min: yMin, ticks: { callback: money } } },
      },
    });
  }

  var monthsEl = document.getElementById("revenue-months");
  if (!monthsEl) return;
  var months = JSON.parse(monthsEl.textContent);
  var labels = months.map(function (m) { return m.month; });
  var series = function (key, sign) { return months.map(function (m) { return sign * m[key]; }); };

  new Chart(document.getElementById("waterfall-chart"), {
    type: "bar",
    data: {
      labels: labels,
      datasets: [
        { label: "New", data: series("new", 1), backgroundColor: green, stack: "m" },
        { label: "Expansion", data: series("expansion", 1), backgroundColor: teal, stack: "m" },
        { label: "Reactivation", data: series("reactivation", 1), backgroundColor: blue, stack: "m" },
        { label: "Contraction", data: series("contraction", -1), backgroundColor: amber, stack: "m" },
        { label: "Churn", data: series("churn", -1), backgroundColor: red, stack: "m" },
        { label: "Closing MRR", data: series("closing", 1), type: "line", borderColor: grey, yAxisID: "mrr", tension: 0.2 },
      ],
    },
    options: {
      maintainAspectRatio: false,
      interaction: { mode: "index", intersect: false },
      plugins: { tooltip: { callbacks: { label: function (c) { return c.dataset.label + ": " + money(c.raw); } } } },
      scales: {
        x: { stacked: true },
        y: { stacked: true, title: { display: !narrow, text: "MRR movements" }, ticks: { callback: money } },
        mrr: { position: "right", grid: { drawOnChartArea: false }, title: { display: !narrow, text: "Closing MRR" }, ticks: { callback: money } },
      },
    },
  });

  var pct = function (v) { return v === null ? null : Math.round(v * 1000) / 10; };
  new Chart(document.getElementById("retention-chart"), {
    type: "line",
    data: {
      labels: labels,
      datasets: [
        { label: "NRR", data: months.map(function (m) { return pct(m.nrr); }), borderColor: blue, tension: 0.2 },
        { label: "GRR", data: months.map(function (m) { return pct(m.grr); }), borderColor: amber, tension: 0.2 },
      ],
    },
    options: {
      maintainAspectRatio: false,
      plugins: { tooltip: { callbacks: { label: function (c) { return c.dataset.label + ": " + c.raw + " %"; } } } },
      scales: { y: { ticks: { callback: function (v) { return v + " %"; } } } },
    },
  });
})();
