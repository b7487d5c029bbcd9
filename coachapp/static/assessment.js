/* Progressive enhancement for the assessment steps: hide follow-up questions
 * until they apply. Without JavaScript they are simply shown (with a hint), and
 * the server ignores answers to questions that do not apply.
 * Mirrors coachapp/assessment/conditions.py: a missing answer makes every
 * comparison false; `exists` tests for an answer. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-assessment]");
  if (!form) return;
  var blocks = Array.prototype.slice.call(form.querySelectorAll("[data-show-if]"));
  if (!blocks.length) return;

  function inputsNamed(name) {
    return Array.prototype.filter.call(form.elements, function (el) { return el.name === name; });
  }

  function read(name) {
    var inputs = inputsNamed(name);
    if (!inputs.length) return undefined;            // asked on another step: the server decided
    var first = inputs[0];
    if (first.type === "checkbox") {
      var ticked = inputs.filter(function (i) { return i.checked; }).map(function (i) { return i.value; });
      return ticked.length ? ticked : null;
    }
    if (first.type === "radio") {
      var chosen = inputs.filter(function (i) { return i.checked; })[0];
      return chosen ? chosen.value : null;
    }
    return first.value === "" ? null : first.value;
  }

  function typed(raw, like) {
    if (raw === null || Array.isArray(raw)) return raw;
    if (typeof like === "boolean") return raw === "yes" ? true : raw === "no" ? false : null;
    if (typeof like === "number") { var n = Number(raw); return isNaN(n) ? null : n; }
    return raw;
  }

  function holds(cond) {
    if (cond.all) return cond.all.every(holds);
    if (cond.any) return cond.any.some(holds);
    if ("not" in cond) return !holds(cond.not);
    var raw = read(cond.ref);
    if (raw === undefined) return true;
    var op = Object.keys(cond).filter(function (k) { return k !== "ref"; })[0];
    var want = cond[op];
    if (op === "exists") return (raw !== null) === want;
    var v = typed(raw, Array.isArray(want) ? want[0] : want);
    if (v === null) return false;
    switch (op) {
      case "eq": return v === want;
      case "ne": return v !== want;
      case "in": return want.indexOf(v) !== -1;
      case "not_in": return want.indexOf(v) === -1;
      case "contains": return v.indexOf(want) !== -1;
      case "contains_any": return want.some(function (w) { return v.indexOf(w) !== -1; });
      case "gt": return v > want;
      case "gte": return v >= want;
      case "lt": return v < want;
      case "lte": return v <= want;
      case "between": return v >= want[0] && v < want[1];
      default: return true;
    }
  }

  function update() {
    blocks.forEach(function (block) {
      var show = holds(JSON.parse(block.getAttribute("data-show-if")));
      block.hidden = !show;
      Array.prototype.forEach.call(block.querySelectorAll("input"), function (i) { i.disabled = !show; });
    });
  }

  form.addEventListener("change", update);
  form.addEventListener("input", update);
  update();
})();
