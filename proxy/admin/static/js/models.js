/* Model browser: selection (up to four) across pages, side-by-side compare, bulk
   enable/disable through models/bulk-status, and "Sync now" with a live progress bar fed by
   polling models/sync/{job_id}. The result table itself is server-rendered (htmx). */
(function () {
  "use strict";
  var A = window.Admin;
  var MAX = 4;
  var selected = new Map();  /* id -> compare data (from the row's data-model JSON) */
  var $ = function (id) { return document.getElementById(id); };

  function syncChecks() {
    document.querySelectorAll("#results input.pick").forEach(function (box) {
      box.checked = selected.has(box.value);
      box.disabled = !box.checked && selected.size >= MAX;
    });
  }

  function render() {
    var list = A.clear($("selection"));
    selected.forEach(function (model, id) {
      list.appendChild(A.el("li", {}, A.el("span", { className: "mono small", text: id }),
        A.el("button", { type: "button", className: "link small", "aria-label": "Remove " + id + " from the selection",
          text: "×", onclick: function () { selected.delete(id); update(); } })));
    });
    $("selection-count").textContent = "(" + selected.size + " of " + MAX + ")";
    $("compare-btn").disabled = selected.size < 2;
    $("disable-btn").disabled = $("enable-btn").disabled = $("clear-btn").disabled = selected.size === 0;
    syncChecks();
    if (!$("compare").hidden) { renderCompare(); }
  }

  function update() { render(); }

  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.classList || !box.classList.contains("pick")) { return; }
    if (box.checked) {
      if (selected.size >= MAX) { box.checked = false; A.announce("Select at most " + MAX + " models"); return; }
      selected.set(box.value, JSON.parse(box.dataset.model));
    } else {
      selected.delete(box.value);
    }
    update();
  });
  /* The filter form must not react to the row checkboxes (they live outside it anyway). */
  document.body.addEventListener("htmx:afterSwap", function () { syncChecks(); });

  var ROWS = [
    ["Provider", function (m) { return m.provider; }],
    ["Family", function (m) { return m.family || "—"; }],
    ["Prompt $/M", function (m) { return m.variable_price ? "variable" : (m.prompt_per_million || "—"); }],
    ["Completion $/M", function (m) { return m.variable_price ? "variable" : (m.completion_per_million || "—"); }],
    ["Context", function (m) { return m.context_length ? m.context_length.toLocaleString("en-US") : "—"; }],
    ["Max output", function (m) { return m.max_completion_tokens ? m.max_completion_tokens.toLocaleString("en-US") : "—"; }],
    ["Capabilities", function (m) { return m.capabilities.length ? m.capabilities.join(", ").replace(/_/g, " ") : "none"; }],
    ["Input", function (m) { return m.input_modalities.join(", "); }],
    ["Output", function (m) { return m.output_modalities.join(", "); }],
    ["Quality", function (m) { return m.quality_score || "unknown"; }],
    ["Status", function (m) { return m.status; }]
  ];

  function renderCompare() {
    var table = $("compare-table");
    var caption = table.querySelector("caption");
    A.clear(table);
    table.appendChild(caption);
    var models = Array.from(selected.values());
    var head = A.el("tr", {}, A.el("th", { scope: "col", text: "" }));
    models.forEach(function (m) { head.appendChild(A.el("th", { scope: "col", className: "mono", text: m.id })); });
    table.appendChild(A.el("thead", {}, head));
    var tbody = A.el("tbody");
    ROWS.forEach(function (row) {
      var tr = A.el("tr", {}, A.el("th", { scope: "row", text: row[0] }));
      models.forEach(function (m) { tr.appendChild(A.el("td", { text: row[1](m) })); });
      tbody.appendChild(tr);
    });
    table.appendChild(tbody);
  }

  $("compare-btn").addEventListener("click", function () {
    var panel = $("compare");
    panel.hidden = !panel.hidden;
    $("compare-btn").setAttribute("aria-expanded", String(!panel.hidden));
    if (!panel.hidden) { renderCompare(); panel.focus(); }
  });
  $("clear-btn").addEventListener("click", function () { selected.clear(); $("compare").hidden = true; update(); });

  function refreshResults() {
    var query = new URLSearchParams(new FormData($("filters"))).toString();
    return window.htmx.ajax("GET", "/admin/models/results?" + query, { target: "#results", swap: "outerHTML" });
  }

  async function bulk(status) {
    var ids = Array.from(selected.keys());
    var note = $("bulk-status");
    note.textContent = (status === "disabled" ? "Disabling " : "Enabling ") + ids.length + " model(s)…";
    try {
      var result = await A.api("/models/bulk-status", { method: "POST", body: { model_ids: ids, status: status } });
      note.textContent = (status === "disabled" ? "Disabled " : "Enabled ") + result.changed_count + " model(s), "
        + result.unchanged_count + " already so." + (result.note ? " " + result.note : "");
      selected.clear();
      update();
      await refreshResults();
    } catch (error) {
      note.textContent = "Nothing changed: " + error.message;
    }
  }
  $("disable-btn").addEventListener("click", function () { bulk("disabled"); });
  $("enable-btn").addEventListener("click", function () { bulk("active"); });

  /* Sync now: POST models/sync, then poll its job until it ends. */
  var FINAL = { succeeded: true, failed: true, quarantined: true };
  function showJob(job) {
    var bar = $("sync-progress");
    var pct = job.progress.percent;
    bar.hidden = false;
    if (pct === null) { bar.removeAttribute("value"); } else { bar.value = pct; }
    bar.setAttribute("aria-valuetext", pct === null ? job.status : pct + " %");
    var text = "Sync " + job.status + (pct === null ? "" : " " + pct + " %")
      + (job.progress.total ? " (" + job.progress.done + " of " + job.progress.total + ")" : "");
    if (job.status === "succeeded") {
      text += ": " + job.counts.new + " new, " + job.counts.changed + " changed, " + job.counts.repriced + " repriced, "
        + job.counts.deprecated + " deprecated";
    } else if (job.status === "quarantined") {
      text += ": " + (job.quarantine_reason || "the batch failed the data-quality gate") + "; the last good catalog stays live";
    } else if (job.status === "failed") {
      text += ": " + (job.error || "unknown error");
    }
    $("sync-status").textContent = text;
    $("sync-status").dataset.state = job.status;
  }

  async function follow(jobId) {
    for (;;) {
      var job = await A.api("/models/sync/" + encodeURIComponent(jobId));
      showJob(job);
      if (FINAL[job.status]) { return job; }
      await new Promise(function (resolve) { setTimeout(resolve, 500); });
    }
  }

  $("sync-now").addEventListener("click", async function () {
    var button = $("sync-now");
    button.disabled = true;
    $("sync-status").textContent = "Starting a sync…";
    try {
      var jobId;
      try {
        jobId = (await A.api("/models/sync", { method: "POST", body: { kind: "discover" } })).job_id;
      } catch (error) {
        var details = error.data && error.data.error && error.data.error.details;
        if (error.status !== 409 || !details || !details.job_id) { throw error; }
        jobId = details.job_id;  /* one is already running: follow it */
      }
      var job = await follow(jobId);
      if (job.status === "succeeded") { await refreshResults(); }
    } catch (error) {
      $("sync-status").textContent = "Sync could not run: " + error.message;
      $("sync-status").dataset.state = "error";
    } finally {
      button.disabled = false;
    }
  });

  render();
  A.ready();
})();
