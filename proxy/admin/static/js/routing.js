/* Routing page: the strategy builder (saved via routing/strategies) and the decision tester,
   which asks routing/recommend again (debounced) whenever the builder or the sample changes. */
(function () {
  "use strict";
  var A = window.Admin;
  var $ = function (id) { return document.getElementById(id); };
  var PRESETS = { cheapest: [100, 0, 0], fastest: [0, 100, 0], quality: [0, 0, 100], balanced: [40, 30, 30] };
  var WEIGHTS = ["cost", "latency", "quality"];
  var strategies = [];
  var loaded = null;  /* the saved strategy being edited, or null for a new one */
  var chain = new window.ChainEditor($("chain"), $("chain-add"), $("chain-add-btn"), $("chain-status"), changed);

  function weights() {
    var out = {};
    WEIGHTS.forEach(function (w) { out[w] = parseInt($("w-" + w).value, 10) / 100; });
    return out;
  }

  function showWeights() { WEIGHTS.forEach(function (w) { $("w-" + w + "-out").value = $("w-" + w).value; }); }

  function requirements() {
    var out = {};
    if ($("r-tools").checked) { out.supports_tools = true; }
    if ($("r-structured").checked) { out.supports_structured_output = true; }
    if ($("r-context").value) { out.min_context_length = parseInt($("r-context").value, 10); }
    var price = A.perMillionToPerToken($("r-price").value);
    if (price !== null) { out.max_prompt_price = price; }
    return out;
  }

  function strategyBody() {
    var kind = $("s-kind").value;
    var body = {
      kind: kind, weights: kind === "custom" ? weights() : undefined, requirements: requirements(),
      fallback_chain: chain.items.slice(), is_default: $("s-default").checked
    };
    if (!loaded) { body.name = $("s-name").value.trim(); }
    if ($("s-alias").value.trim()) { body.alias = $("s-alias").value.trim(); }
    if (body.weights === undefined) { delete body.weights; }
    return body;
  }

  /* The sample request of the tester plus the builder's weights: what routing/recommend takes. */
  function recommendBody() {
    var text = $("t-messages").value || "Hello";
    var content = $("t-image").checked
      ? [{ type: "text", text: text }, { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==" } }]
      : text;
    var body = { messages: [{ role: "user", content: content }] };
    var max = parseInt($("t-max").value, 10);
    if (max > 0) { body.max_tokens = max; }
    if ($("t-tools").checked) {
      body.tools = [{ type: "function", "function": { name: "lookup", description: "Look a fact up",
        parameters: { type: "object", properties: { query: { type: "string" } }, required: ["query"] } } }];
    }
    if (loaded && !dirty && loaded.alias) {
      body.model = loaded.alias;  /* a saved, unchanged strategy: ask for it by its alias */
    } else {
      body.weights = weights();   /* the builder's unsaved weights (cost, latency, quality) */
    }
    return body;
  }

  var dirty = false;
  var inflight = null;
  var sequence = 0;

  function line(entry) {
    return A.el("li", {}, A.el("span", { className: "mono", text: entry.model }), " — " + entry.reason);
  }

  function showDecision(payload) {
    var d = payload.decision || payload;
    var reasoning = d.reasoning || {};
    $("d-selected").textContent = d.selected_model;
    var fallbacks = A.clear($("d-fallbacks"));
    (d.fallback_models || []).forEach(function (m) { fallbacks.appendChild(A.el("li", { text: m })); });
    if (!(d.fallback_models || []).length) { fallbacks.appendChild(A.el("li", { text: "none" })); }
    $("d-cost").textContent = d.estimated_cost === null || d.estimated_cost === undefined ? "unknown" : "$" + A.plainDecimal(d.estimated_cost);
    $("d-latency").textContent = d.estimated_latency_ms === null || d.estimated_latency_ms === undefined
      ? "unknown" : Math.round(d.estimated_latency_ms) + " ms";
    $("d-confidence").textContent = d.confidence_score === null || d.confidence_score === undefined
      ? "—" : Math.round(d.confidence_score * 100) + " %";
    $("d-strategy").textContent = (d.strategy || "—") + (d.ranking ? " (ranked by " + d.ranking + ")" : "");
    var reasons = A.clear($("d-reasons"));
    var excluded = A.clear($("d-excluded"));
    (reasoning.entries || []).forEach(function (entry) {
      (entry.verdict === "excluded" ? excluded : reasons).appendChild(line(entry));
    });
    Object.keys(reasoning.excluded || {}).forEach(function (code) {
      excluded.appendChild(A.el("li", { text: reasoning.excluded[code] + " model(s) removed: " + code.replace(/_/g, " ") }));
    });
    if (!excluded.firstChild) { excluded.appendChild(A.el("li", { text: "nothing excluded" })); }
    $("decision-facts").hidden = false;
    $("decision-status").textContent = (reasoning.eligible !== undefined ? reasoning.eligible + " eligible model(s). " : "")
      + "Updated " + new Date().toLocaleTimeString() + ".";
    $("decision").dataset.selected = d.selected_model;
  }

  async function recommend() {
    var mine = ++sequence;
    if (inflight) { inflight.abort(); }
    inflight = new AbortController();
    $("decision").setAttribute("aria-busy", "true");
    try {
      var payload = await A.api("/routing/recommend", { method: "POST", body: recommendBody(), signal: inflight.signal });
      if (mine === sequence) { showDecision(payload); }
    } catch (error) {
      if (error.name === "AbortError") { return; }
      if (mine === sequence) {
        $("decision-status").textContent = "No decision: " + error.message;
        $("decision-facts").hidden = true;
        $("decision").dataset.selected = "";
      }
    } finally {
      if (mine === sequence) { $("decision").setAttribute("aria-busy", "false"); A.ready(); }
    }
  }

  var recommendSoon = A.debounce(recommend, 250);
  function changed() { dirty = true; recommendSoon(); }

  WEIGHTS.forEach(function (w) {
    $("w-" + w).addEventListener("input", function () {
      $("s-kind").value = "custom";
      showWeights();
      changed();
    });
  });
  $("s-kind").addEventListener("change", function () {
    var preset = PRESETS[$("s-kind").value];
    if (preset) { WEIGHTS.forEach(function (w, i) { $("w-" + w).value = preset[i]; }); showWeights(); }
    changed();
  });
  ["r-tools", "r-structured", "r-context", "r-price", "s-default"].forEach(function (id) { $(id).addEventListener("change", changed); });
  ["t-messages", "t-max"].forEach(function (id) { $(id).addEventListener("input", recommendSoon); });
  ["t-tools", "t-image"].forEach(function (id) { $(id).addEventListener("change", recommend); });

  function load(strategy) {
    loaded = strategy;
    dirty = false;
    $("s-name").value = strategy ? strategy.name : "";
    $("s-name").readOnly = !!strategy;
    $("s-alias").value = strategy && strategy.alias ? strategy.alias : "";
    $("s-kind").value = strategy ? strategy.kind : "custom";
    var w = strategy && strategy.weights && Object.keys(strategy.weights).length
      ? strategy.weights : { cost: 0.4, latency: 0.3, quality: 0.3 };
    WEIGHTS.forEach(function (k) { $("w-" + k).value = Math.round((w[k] || 0) * 100); });
    showWeights();
    var req = strategy ? strategy.requirements || {} : {};
    $("r-tools").checked = !!req.supports_tools;
    $("r-structured").checked = !!req.supports_structured_output;
    $("r-context").value = req.min_context_length || "";
    $("r-price").value = req.max_prompt_price ? A.perTokenToPerMillion(req.max_prompt_price) : "";
    $("s-default").checked = !!(strategy && strategy.is_default);
    chain.set(strategy ? strategy.fallback_chain : []);
  }

  async function loadStrategies(select) {
    var data = await A.api("/routing/strategies");
    strategies = data.data || [];
    var picker = $("saved");
    A.clear(picker).appendChild(A.el("option", { value: "", text: "New strategy" }));
    strategies.forEach(function (s) {
      picker.appendChild(A.el("option", { value: s.name, text: s.name + (s.alias ? " (" + s.alias + ")" : "") + (s.is_default ? ", default" : "") }));
    });
    picker.value = select || "";
  }

  $("saved").addEventListener("change", function () {
    load(strategies.find(function (s) { return s.name === $("saved").value; }) || null);
    recommend();
  });

  $("strategy-form").addEventListener("submit", async function (event) {
    event.preventDefault();
    A.showError($("strategy-error"), null);
    var body = strategyBody();
    try {
      var saved = loaded
        ? await A.api("/routing/strategies/" + encodeURIComponent(loaded.name), { method: "PUT", body: body })
        : await A.api("/routing/strategies", { method: "POST", body: body });
      await loadStrategies(saved.name);
      load(saved);
      $("strategy-status").textContent = "Saved " + saved.name + " (version " + saved.version + ").";
      A.announce("Strategy saved");
    } catch (error) {
      A.showError($("strategy-error"), error);
    }
  });

  showWeights();
  loadStrategies("").catch(function (error) { A.showError($("strategy-error"), error); }).finally(recommend);
})();
