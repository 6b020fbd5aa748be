/* Providers page: load provider/configure, save it (the key is write-only), run provider/test. */
(function () {
  "use strict";
  var A = window.Admin;
  var form = document.getElementById("provider-form");
  var status = document.getElementById("config-status");
  var errorBox = document.getElementById("config-error");
  var $ = function (id) { return document.getElementById(id); };

  function slugs(text) {
    var list = String(text || "").split(",").map(function (s) { return s.trim(); }).filter(Boolean);
    return list.length ? list : null;
  }

  function fill(config) {
    var routing = config.routing_preferences || {};
    var cost = config.cost_limits || {};
    var rate = config.rate_limits || {};
    $("api_key").value = "";
    $("fingerprint").textContent = config.credential && config.credential.fingerprint
      ? config.credential.fingerprint + " (" + config.credential.source + ")" : "none";
    $("base_url").value = config.base_url || "";
    $("effective_base_url").textContent = config.effective_base_url;
    $("is_enabled").checked = !!config.is_enabled;
    $("default_strategy").value = routing.default_strategy || "";
    $("sort").value = routing.sort || "";
    $("allow_fallbacks").value = routing.allow_fallbacks === undefined || routing.allow_fallbacks === null ? "" : String(routing.allow_fallbacks);
    $("data_collection").value = routing.data_collection || "";
    $("order").value = (routing.order || []).join(", ");
    $("ignore").value = (routing.ignore || []).join(", ");
    $("daily_limit_usd").value = cost.daily_limit_usd || "";
    $("monthly_limit_usd").value = cost.monthly_limit_usd || "";
    $("rpm").value = rate.rpm || "";
    $("tpm").value = rate.tpm || "";
    status.textContent = config.configured
      ? "Saved configuration, last changed " + (config.updated_at || "").replace("T", " ").slice(0, 19) + " UTC."
      : "Not configured yet: the defaults are shown.";
  }

  function body() {
    var routing = {};
    if ($("default_strategy").value.trim()) { routing.default_strategy = $("default_strategy").value.trim(); }
    if ($("sort").value) { routing.sort = $("sort").value; }
    if ($("allow_fallbacks").value) { routing.allow_fallbacks = $("allow_fallbacks").value === "true"; }
    if ($("data_collection").value) { routing.data_collection = $("data_collection").value; }
    if (slugs($("order").value)) { routing.order = slugs($("order").value); }
    if (slugs($("ignore").value)) { routing.ignore = slugs($("ignore").value); }
    var cost = {};
    ["daily_limit_usd", "monthly_limit_usd"].forEach(function (name) {
      var value = $(name).value.trim();
      if (value) { cost[name] = value; }  /* decimal strings, never numbers */
    });
    var rate = {};
    ["rpm", "tpm"].forEach(function (name) {
      if ($(name).value.trim()) { rate[name] = parseInt($(name).value, 10); }
    });
    var out = {
      base_url: $("base_url").value.trim() || null, is_enabled: $("is_enabled").checked,
      routing_preferences: routing, cost_limits: cost, rate_limits: rate
    };
    if ($("api_key").value.trim()) { out.api_key = $("api_key").value.trim(); }
    return out;
  }

  function markInvalid(param) {
    form.querySelectorAll("[aria-invalid]").forEach(function (node) { node.removeAttribute("aria-invalid"); });
    if (!param) { return; }
    var name = String(param).split(".").pop();
    var field = document.getElementById(name);
    if (field) { field.setAttribute("aria-invalid", "true"); field.focus(); }
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    var button = $("save");
    button.disabled = true;
    A.showError(errorBox, null);
    markInvalid(null);
    try {
      fill(await A.api("/provider/configure", { method: "POST", body: body() }));
      A.announce("Configuration saved");
      status.textContent = "Saved. " + status.textContent;
    } catch (error) {
      A.showError(errorBox, error);
      markInvalid(error.param);
    } finally {
      button.disabled = false;
    }
  });

  function yesNo(node, value) {
    node.textContent = value === null || value === undefined ? "unknown" : (value ? "yes" : "no");
    node.className = value === null || value === undefined ? "" : (value ? "ok" : "bad");
  }

  $("test").addEventListener("click", async function () {
    var button = $("test");
    button.disabled = true;
    button.textContent = "Testing…";
    var request = {};
    if ($("api_key").value.trim()) { request.api_key = $("api_key").value.trim(); }
    if ($("base_url").value.trim()) { request.base_url = $("base_url").value.trim(); }
    try {
      var result = await A.api("/provider/test", { method: "POST", body: request });
      $("t-status").textContent = result.status;
      $("t-status").className = result.status === "healthy" ? "ok" : "bad";
      yesNo($("t-reachable"), result.reachable);
      yesNo($("t-key"), result.key_valid);
      $("t-latency").textContent = result.latency_ms === null ? "—" : result.latency_ms + " ms";
      $("t-credits").textContent = result.credits_remaining === null ? "—" : "$" + result.credits_remaining;
      $("t-fingerprint").textContent = (result.credential_fingerprint || "none") + (result.credential_source ? " (" + result.credential_source + ")" : "");
      $("t-detail").textContent = result.detail;
      $("test-facts").hidden = false;
      A.announce("Connection test: " + result.status);
    } catch (error) {
      $("t-status").textContent = "error: " + error.message;
      $("t-status").className = "bad";
      $("test-facts").hidden = false;
    } finally {
      button.disabled = false;
      button.textContent = "Test connection";
    }
  });

  A.api("/provider/configure").then(fill, function (error) {
    status.textContent = "Could not load the configuration: " + error.message;
  }).finally(A.ready);
})();
