/* Pre-select the visitor's time zone (they can still change it). */
(function () {
  "use strict";
  var select = document.getElementById("time_zone");
  if (!select || select.dataset.touched) return;
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    var known = Array.prototype.some.call(select.options, function (o) { return o.value === zone; });
    var form = select.form;
    var returning = form && form.querySelector(".has-error");  // keep what they chose on a re-render
    if (zone && known && !returning) select.value = zone;
  } catch (e) { /* keep the server default */ }
})();
