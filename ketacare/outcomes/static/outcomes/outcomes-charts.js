/* KetaCare outcome charts: draws every <canvas data-chart-source="ID"> from the JSON in
   <script type="application/json" id="ID"> (Django's json_script). No inline script: strict CSP.
   Kinds: "scores" (totals over time, severity bands, session markers, baseline), "km" (Kaplan-Meier with CI band),
   "bars" (rates with confidence whiskers). Uses the vendored Chart.js (window.Chart). */
(function () {
  "use strict";
  var PALETTE = ["#0f3d56", "#c2410c", "#6d28d9", "#067647", "#b42318", "#0e7490"];
  var BAND_FILLS = ["#e7f6ec", "#f3f8e3", "#fdf6dc", "#fdebd8", "#fbe0dd", "#f6d2d2"];
  var DAY = 86400000;

  function fmtDate(ms) {
    return new Date(ms).toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
  }

  // Severity bands behind the data, session triangles along the x axis, dashed baseline. The data is captured in
  // a closure, not passed as plugin options (Chart.js resolves option objects against its defaults).
  function decorations(opts) {
    return {
    id: "kcDecorations",
    beforeDatasetsDraw: function (chart) {
      var ctx = chart.ctx, area = chart.chartArea, y = chart.scales.y, x = chart.scales.x;
      ctx.save();
      (opts.bands || []).forEach(function (b, i) {
        var top = y.getPixelForValue(Math.min(b.high + (b.high < y.max ? 1 : 0), y.max));
        var bottom = y.getPixelForValue(Math.max(b.low, y.min));
        ctx.fillStyle = b.fill || BAND_FILLS[Math.min(i, BAND_FILLS.length - 1)];
        ctx.fillRect(area.left, top, area.right - area.left, bottom - top);
        if (bottom - top > 10) {
          ctx.fillStyle = "#5d6b7a";
          ctx.font = "11px system-ui, sans-serif";
          ctx.textAlign = "right";
          ctx.fillText(b.label, area.right - 4, (top + bottom) / 2 + 4);
        }
      });
      if (opts.baseline !== null && opts.baseline !== undefined) {
        var by = y.getPixelForValue(opts.baseline);
        ctx.strokeStyle = "#5d6b7a";
        ctx.setLineDash([5, 4]);
        ctx.beginPath(); ctx.moveTo(area.left, by); ctx.lineTo(area.right, by); ctx.stroke();
        ctx.setLineDash([]);
      }
      ctx.fillStyle = "#0f3d56";
      (opts.markers || []).forEach(function (m) {
        var px = x.getPixelForValue(m);
        if (px < area.left - 1 || px > area.right + 1) { return; }
        ctx.beginPath();
        ctx.moveTo(px - 4, area.bottom); ctx.lineTo(px + 4, area.bottom); ctx.lineTo(px, area.bottom - 8);
        ctx.closePath(); ctx.fill();
      });
      ctx.restore();
    }
    };
  }

  function tickEvery(max) {
    return max <= 30 ? 5 : max <= 100 ? 10 : 20;
  }

  function scoresConfig(data) {
    var datasets = data.series.map(function (s, i) {
      return {
        label: s.label,
        data: s.points.map(function (p) { return { x: p[0], y: p[1] }; }),
        borderColor: s.color || PALETTE[i % PALETTE.length],
        backgroundColor: s.color || PALETTE[i % PALETTE.length],
        borderWidth: 2, pointRadius: (s.points.length > 80 ? 1.5 : 3) + (s.line === false ? 2.5 : 0), tension: 0,
        borderDash: s.dashed ? [6, 4] : [], showLine: s.line !== false
      };
    });
    return {
      type: "line",
      data: { datasets: datasets },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false, parsing: false, normalized: true,
        interaction: { mode: "nearest", intersect: false },
        scales: {
          x: { type: "linear", ticks: { maxTicksLimit: 8, callback: function (v) { return fmtDate(v); } },
               min: data.x && data.x.min, max: data.x && data.x.max },
          y: { min: data.y.min, max: data.y.max, title: { display: !!data.y.label, text: data.y.label },
               ticks: { stepSize: data.y.max <= 5 ? 1 : undefined,
                        callback: function (v) { var step = data.y.max <= 5 ? 1 : tickEvery(data.y.max);
                                                 return v % step === 0 ? v : ""; } } }
        },
        plugins: {
          legend: { display: data.series.length > 1 },
          tooltip: { callbacks: { title: function (items) { return items.length ? fmtDate(items[0].parsed.x) : ""; } } }
        }
      },
      plugins: [decorations({ bands: data.bands || [], markers: data.markers || [], baseline: data.baseline })]
    };
  }

  function kmConfig(data) {
    var curve = [{ x: 0, y: 100 }], upper = [{ x: 0, y: 100 }], lower = [{ x: 0, y: 100 }];
    data.points.forEach(function (p) {
      curve.push({ x: p.time, y: p.survival * 100 });
      upper.push({ x: p.time, y: (p.ci_high === null ? p.survival : p.ci_high) * 100 });
      lower.push({ x: p.time, y: (p.ci_low === null ? p.survival : p.ci_low) * 100 });
    });
    var end = data.x_max || (data.points.length ? data.points[data.points.length - 1].time : 1);
    [curve, upper, lower].forEach(function (line) { line.push({ x: end, y: line[line.length - 1].y }); });
    var base = { stepped: "before", pointRadius: 0, borderWidth: 0, tension: 0 };
    return {
      type: "line",
      data: {
        datasets: [
          Object.assign({ label: "95 % CI (upper)", data: upper, borderColor: "transparent",
                          backgroundColor: "rgba(15,61,86,0.14)", fill: "+1" }, base),
          Object.assign({ label: "95 % CI (lower)", data: lower, borderColor: "transparent" }, base),
          Object.assign({ label: data.label || "Still well", data: curve, borderColor: "#0f3d56" }, base,
                        { borderWidth: 2 })
        ]
      },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false, parsing: false,
        scales: {
          x: { type: "linear", min: 0, max: end, title: { display: true, text: data.x_label || "days" } },
          y: { min: 0, max: 100, ticks: { callback: function (v) { return v + " %"; } } }
        },
        plugins: {
          legend: { display: false },
          tooltip: { filter: function (item) { return item.datasetIndex === 2; },
                     callbacks: { label: function (item) { return item.parsed.y.toFixed(1) + " % at day " + item.parsed.x; } } }
        }
      }
    };
  }

  function barsConfig(data) {
    var shown = data.bars.filter(function (b) { return b.value !== null; });
    return {
      type: "bar",
      data: {
        labels: shown.map(function (b) { return b.label; }),
        datasets: [{ label: data.label || "", data: shown.map(function (b) { return b.value * (data.percent ? 100 : 1); }),
                     backgroundColor: "rgba(15,61,86,0.85)" }]
      },
      options: {
        indexAxis: "y", animation: false, responsive: true, maintainAspectRatio: false,
        scales: { x: { min: 0, max: data.percent ? 100 : undefined,
                       ticks: { callback: function (v) { return data.percent ? v + " %" : v; } } } },
        plugins: { legend: { display: false } }
      }
    };
  }

  var BUILDERS = { scores: scoresConfig, km: kmConfig, bars: barsConfig };

  function draw(root) {
    if (!window.Chart) { return; }
    (root || document).querySelectorAll("canvas[data-chart-source]").forEach(function (canvas) {
      if (canvas.dataset.drawn) { return; }
      var source = document.getElementById(canvas.dataset.chartSource);
      if (!source) { return; }
      var data = JSON.parse(source.textContent);
      var build = BUILDERS[data.kind];
      if (!build) { return; }
      canvas.dataset.drawn = "1";
      new window.Chart(canvas, build(data));
      var figure = canvas.closest(".kc-figure");
      if (figure) { figure.classList.add("kc-figure-live"); }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { draw(document); });
  } else {
    draw(document);
  }
  document.addEventListener("htmx:afterSettle", function (event) { draw(event.target); });
  window.KetaCareCharts = { draw: draw, DAY: DAY };
})();
