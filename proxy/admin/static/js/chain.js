/* The ordered fallback-chain editor: add, remove, move up/down with buttons (keyboard
   usable: focus stays on the moved item's button), every change announced politely. */
(function () {
  "use strict";
  var A = window.Admin;

  function ChainEditor(list, input, addButton, status, onChange) {
    this.items = [];
    this.list = list;
    this.status = status;
    this.onChange = onChange;
    var self = this;
    addButton.addEventListener("click", function () { self.addFromInput(input); });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); self.addFromInput(input); }
    });
  }

  ChainEditor.prototype.say = function (text) { this.status.textContent = text; };

  ChainEditor.prototype.addFromInput = function (input) {
    var id = input.value.trim();
    if (!id) { return; }
    if (this.items.indexOf(id) >= 0) { this.say(id + " is already in the chain"); return; }
    this.items.push(id);
    input.value = "";
    this.render();
    this.say("Added " + id + " at position " + this.items.length);
    this.onChange();
  };

  ChainEditor.prototype.set = function (items) { this.items = (items || []).slice(); this.render(); };

  ChainEditor.prototype.move = function (index, delta, focusClass) {
    var target = index + delta;
    if (target < 0 || target >= this.items.length) { return; }
    var item = this.items.splice(index, 1)[0];
    this.items.splice(target, 0, item);
    this.render();
    var buttons = this.list.querySelectorAll("li")[target].querySelector("." + focusClass);
    if (buttons && !buttons.disabled) { buttons.focus(); }
    else { this.list.querySelectorAll("li")[target].querySelector("button:not([disabled])").focus(); }
    this.say(item + " moved to position " + (target + 1));
    this.onChange();
  };

  ChainEditor.prototype.remove = function (index) {
    var item = this.items.splice(index, 1)[0];
    this.render();
    var rows = this.list.querySelectorAll("li");
    if (rows.length) { rows[Math.min(index, rows.length - 1)].querySelector("button").focus(); }
    this.say("Removed " + item);
    this.onChange();
  };

  ChainEditor.prototype.render = function () {
    var self = this;
    A.clear(this.list);
    this.items.forEach(function (id, i) {
      var last = i === self.items.length - 1;
      self.list.appendChild(A.el("li", {}, A.el("div", { className: "item" },
        A.el("span", { className: "mono", text: id }),
        A.el("button", { type: "button", className: "small up", "aria-label": "Move " + id + " up", disabled: i === 0,
          text: "↑", onclick: function () { self.move(i, -1, "up"); } }),
        A.el("button", { type: "button", className: "small down", "aria-label": "Move " + id + " down", disabled: last,
          text: "↓", onclick: function () { self.move(i, 1, "down"); } }),
        A.el("button", { type: "button", className: "small remove", "aria-label": "Remove " + id, text: "Remove",
          onclick: function () { self.remove(i); } }))));
    });
  };

  window.ChainEditor = ChainEditor;
})();
