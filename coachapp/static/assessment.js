/* Progressive enhancement for the assessment screens (everything works without it):
 *  - a screen holding one single-tap question moves on as soon as it is answered;
 *  - "None of these" clears the other ticks, and another tick clears "None of these". */
(function () {
  "use strict";
  var form = document.querySelector("form[data-assessment]");
  if (!form) return;
  var next = form.querySelector('button[name="nav"][value="next"]');

  form.addEventListener("change", function (event) {
    var input = event.target;
    if (input.type === "checkbox") {
      var group = form.querySelectorAll('input[type="checkbox"][name="' + input.name + '"]');
      Array.prototype.forEach.call(group, function (other) {
        if (other !== input && input.checked &&
            (input.hasAttribute("data-exclusive") || other.hasAttribute("data-exclusive"))) {
          other.checked = false;
        }
      });
      return;
    }
    if (input.type === "radio" && form.hasAttribute("data-auto-advance") && next) {
      form.classList.add("advancing");
      window.setTimeout(function () {
        if (form.requestSubmit) form.requestSubmit(next); else next.click();
      }, 180); // long enough to see the choice highlighted
    }
  });
})();
