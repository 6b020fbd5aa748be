/* Dashboard: charts from analytics/usage, analytics/costs and analytics/performance
   (Chart.js, no animation), refreshed when the period changes. Money arrives as decimal
   strings: the summaries print them as they are; only the chart geometry uses numbers. */
(function () {
  "use strict";
  var A = window.Admin;
  var $ = function (id) { return document.getElementById(id); };
  var charts = {};
  var COLORS = ["#1d4ed8", "#b45309", "#047857", "#7c3aed", "#be123c", "#0e7490", "#4d7c0f", "#9333ea"];

  window.Chart.defaults.animation = false;
  window.Chart.defaults.maintainAspectRatio = false;
  window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;

  function draw(id, config) {
    if (charts[id]) { charts[id].destroy(); }
    charts[id] = new window.Chart($("chart-" + id), config);
  }

  function label(iso, bucket) {
    var text = String(iso);
    return bucket === "hour" ? text.slice(11, 16) : text.slice(5, 10);
  }

  function num(value) { return value === null || value === undefined ? null : Number(value); }

  function usageCharts(usage) {
    var bucket = usage.bucket;
    var rows = usage.data || [];
    var labels = rows.map(function (r) { return label(r.bucket_start, bucket); });
    draw("usage", {
      type: "bar",
      data: { labels: labels, datasets: [
        { label: "Requests", data: rows.map(function (r) { return r.requests; }), backgroundColor: COLORS[0], yAxisID: "y" },
        { label: "Tokens", type: "line", data: rows.map(function (r) { return r.total_tokens; }), borderColor: COLORS[1], backgroundColor: COLORS[1], yAxisID: "y1", pointRadius: 2 }
      ] },
      options: { scales: { y: { beginAtZero: true, title: { display: true, text: "requests" } },
        y1: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false }, title: { display: true, text: "tokens" } } } }
    });
    var t = usage.totals || {};
    $("usage-summary").textContent = (t.requests || 0).toLocaleString("en-US") + " requests, "
      + (t.total_tokens || 0).toLocaleString("en-US") + " tokens, " + (t.errors || 0) + " errors in the period.";
    draw("spend", {
      type: "line",
      data: { labels: labels, datasets: [
        { label: "Spend (charge, else estimate)", data: rows.map(function (r) { return num(r.spend_usd); }), borderColor: COLORS[2], backgroundColor: COLORS[2], pointRadius: 2 },
        { label: "Minerva estimate", data: rows.map(function (r) { return num(r.cost_estimated_usd); }), borderColor: COLORS[3], backgroundColor: COLORS[3], borderDash: [4, 3], pointRadius: 2 }
      ] },
      options: { scales: { y: { beginAtZero: true, title: { display: true, text: "USD" } } } }
    });
    $("spend-summary").textContent = "Spend $" + (t.spend_usd || "0") + " (upstream charge $" + (t.cost_usd || "0")
      + ", estimate $" + (t.cost_estimated_usd || "0") + ", " + (t.cost_unknown || 0) + " request(s) awaiting their charge).";
  }

  function costChart(costs) {
    var rows = (costs.data || []).slice().sort(function (a, b) { return num(b.spend_usd) - num(a.spend_usd); }).slice(0, 10);
    draw("breakdown", {
      type: "bar",
      data: { labels: rows.map(function (r) { return r.model || "unknown"; }),
        datasets: [{ label: "Spend USD", data: rows.map(function (r) { return num(r.spend_usd); }), backgroundColor: COLORS }] },
      options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true } } }
    });
    var t = costs.totals || {};
    var rec = costs.reconciliation || {};
    $("breakdown-summary").textContent = "Month to date $" + (t.spend_usd || "0") + "; reconciled $"
      + (rec.reconciled_spend_usd || "0") + ", unreconciled $" + (rec.unreconciled_spend_usd || "0") + ".";
  }

  function pct(value) { return value === null || value === undefined ? "—" : (value * 100).toFixed(2) + " %"; }
  function ms(value) { return value === null || value === undefined ? "—" : Math.round(value).toLocaleString("en-US"); }

  function performance(perf) {
    var rows = (perf.data || []).filter(function (r) { return r.current; })
      .sort(function (a, b) { return b.current.requests - a.current.requests; });
    var top = rows.slice(0, 8);
    draw("latency", {
      type: "bar",
      data: { labels: top.map(function (r) { return r.model || "unknown"; }), datasets: [
        { label: "p95 latency ms (this " + perf.window + ")", data: top.map(function (r) { return r.current.p95_latency_ms; }), backgroundColor: COLORS[0], yAxisID: "y" },
        { label: "p95 latency ms (previous)", data: top.map(function (r) { return r.previous ? r.previous.p95_latency_ms : null; }), backgroundColor: "#93c5fd", yAxisID: "y" },
        { label: "error rate %", type: "line", data: top.map(function (r) { return r.current.error_rate === null ? null : r.current.error_rate * 100; }), borderColor: COLORS[4], backgroundColor: COLORS[4], yAxisID: "y1" }
      ] },
      options: { scales: { x: { ticks: { callback: function (v) { var t = this.getLabelForValue(v); return t.length > 18 ? t.slice(0, 17) + "…" : t; } } },
        y: { beginAtZero: true, title: { display: true, text: "ms" } },
        y1: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false }, title: { display: true, text: "errors %" } } } }
    });
    $("latency-summary").textContent = rows.length + " model(s) served requests this " + perf.window + ".";
    var body = A.clear($("perf-table").querySelector("tbody"));
    rows.slice(0, 25).forEach(function (r) {
      var trend = r.trend && r.trend.p95_latency_ms ? r.trend.p95_latency_ms.pct_change : null;
      body.appendChild(A.el("tr", {},
        A.el("td", { className: "mono", text: r.model || "unknown" }),
        A.el("td", { className: "num", text: r.current.requests.toLocaleString("en-US") }),
        A.el("td", { className: "num", text: ms(r.current.p50_latency_ms) }),
        A.el("td", { className: "num", text: ms(r.current.p95_latency_ms) }),
        A.el("td", { className: "num", text: pct(r.current.error_rate) }),
        A.el("td", { className: "num", text: trend === null || trend === undefined ? "—" : (trend > 0 ? "+" : "") + trend.toFixed(1) + " %" })));
    });
    if (!rows.length) { body.appendChild(A.el("tr", {}, A.el("td", { colspan: 6, className: "muted", text: "No requests in this window." }))); }
  }

  async function load() {
    var bucket = $("period").value;
    var usageQuery = "/analytics/usage?bucket=" + bucket;  /* the API's default span per bucket */
    var windowName = bucket === "week" ? "week" : bucket === "hour" ? "hour" : "day";
    A.showError($("analytics-error"), null);
    var results = await Promise.allSettled([
      A.api(usageQuery).then(usageCharts),
      A.api("/analytics/costs?group_by=model&savings=false").then(costChart),  /* no savings shown here */
      A.api("/analytics/performance?window=" + windowName + "&group_by=model").then(performance)
    ]);
    var failed = results.filter(function (r) { return r.status === "rejected"; });
    if (failed.length) {
      A.showError($("analytics-error"), new Error("Some analytics could not be loaded: " + failed.map(function (r) { return r.reason.message; }).join("; ")));
    }
    document.documentElement.dataset.charts = String(3 - failed.length);
  }

  $("period").addEventListener("change", load);
  load().finally(A.ready);
})();
