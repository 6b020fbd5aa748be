/* Shared helpers of the admin pages: the JSON API with the session's CSRF header, a safe
   DOM builder (text only, never innerHTML), announcements, debounce, and the "ready" marker
   the browser tests and bench/admin_pages.py wait for. */
(function () {
  "use strict";
  var body = document.body;
  var csrf = body.dataset.csrf || "";
  var apiPrefix = body.dataset.api || "";

  function loginRedirect() {
    window.location.assign("/admin/login?next=" + encodeURIComponent(window.location.pathname + window.location.search));
  }

  async function api(path, options) {
    options = options || {};
    var headers = { "Accept": "application/json", "X-CSRF-Token": csrf };
    var init = { method: options.method || "GET", headers: headers, credentials: "same-origin", signal: options.signal };
    if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(options.body);
    }
    var response = await fetch(apiPrefix + path, init);
    var text = await response.text();
    var data = null;
    if (text) {
      try { data = JSON.parse(text); } catch (e) { data = { raw: text }; }
    }
    if (response.status === 401) { loginRedirect(); }
    if (!response.ok) {
      var error = new Error((data && data.error && data.error.message) || ("HTTP " + response.status));
      error.status = response.status;
      error.param = data && data.error ? data.error.param : null;
      error.data = data;
      throw error;
    }
    return data;
  }

  function el(tag, attrs) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === null || value === undefined || value === false) { return; }
      if (key === "text") { node.textContent = String(value); }
      else if (key === "className") { node.className = value; }
      else if (key.slice(0, 2) === "on") { node.addEventListener(key.slice(2), value); }
      else { node.setAttribute(key, value === true ? "" : String(value)); }
    });
    for (var i = 2; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined) { continue; }
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } return node; }

  var toastTimer = null;
  function announce(message) {
    var toast = document.getElementById("toast");
    if (!toast) { return; }
    toast.textContent = message;
    toast.classList.add("show");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { toast.classList.remove("show"); }, 3000);
  }

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      var args = arguments, self = this;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(self, args); }, ms);
    };
  }

  function showError(node, error) {
    if (!node) { return; }
    node.textContent = error ? (error.message || String(error)) : "";
    node.hidden = !error;
  }

  /* Decimal strings stay strings: "$ per million" -> "$ per token" by moving the point. */
  function perMillionToPerToken(text) {
    var value = String(text || "").trim();
    if (!/^\d+(\.\d+)?$/.test(value)) { return null; }
    var parts = value.split(".");
    var digits = parts[0].replace(/^0+/, "") || "0";
    var frac = parts[1] || "";
    var padded = ("0000000" + digits).slice(-Math.max(7, digits.length));
    var whole = padded.slice(0, padded.length - 6).replace(/^0+/, "") || "0";
    var result = whole + "." + padded.slice(padded.length - 6) + frac;
    return result.replace(/0+$/, "").replace(/\.$/, "");
  }

  function perTokenToPerMillion(text) {
    var value = String(text === null || text === undefined ? "" : text).trim();
    if (!/^\d+(\.\d+)?$/.test(value)) { return ""; }
    var parts = value.split(".");
    var frac = (parts[1] || "") + "000000";
    var whole = (parts[0] + frac.slice(0, 6)).replace(/^0+/, "") || "0";
    var rest = frac.slice(6).replace(/0+$/, "");
    return rest ? whole + "." + rest : whole;
  }

  /* "0E-30" or "1.5E-7" (Python's str(Decimal)) -> "0" or "0.00000015", exactly, by moving the point. */
  function plainDecimal(text) {
    var match = /^(-?)(\d+)(?:\.(\d+))?[eE]([+-]?\d+)$/.exec(String(text).trim());
    if (!match) { return String(text); }
    var digits = match[2] + (match[3] || "");
    var point = match[2].length + parseInt(match[4], 10);
    if (point <= 0) { digits = "0".repeat(1 - point) + digits; point = 1; }
    while (point > digits.length) { digits += "0"; }
    var whole = digits.slice(0, point).replace(/^0+/, "") || "0";
    var frac = digits.slice(point).replace(/0+$/, "");
    var out = frac ? whole + "." + frac : whole;
    return (match[1] && out !== "0" ? "-" : "") + out;
  }

  function ready() {
    if (document.documentElement.dataset.ready === "true") { return; }
    window.__adminReadyAt = performance.now();
    document.documentElement.dataset.ready = "true";
  }

  window.Admin = {
    api: api, el: el, clear: clear, announce: announce, debounce: debounce, showError: showError,
    perMillionToPerToken: perMillionToPerToken, perTokenToPerMillion: perTokenToPerMillion, plainDecimal: plainDecimal, ready: ready,
    csrf: csrf
  };
})();
