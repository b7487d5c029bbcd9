// The import page's progress: poll progress.json every 2 s and update the counts in place;
// when the import has finished, reload once to show the report. Optional: without it the
// page has a Refresh link.
(function () {
  "use strict";
  var box = document.getElementById("progress");
  var url = box && box.getAttribute("data-progress-url");
  if (!url) { return; }
  function set(id, value) {
    var node = document.getElementById(id);
    if (node) { node.textContent = String(value); }
  }
  function tick() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        ["processed", "created", "updated", "unchanged", "rejected", "status"].forEach(function (key) {
          set(key, data[key]);
        });
        var bar = document.getElementById("bar");
        if (bar) { bar.value = data.processed; }
        if (data.status === "done" || data.status === "failed") { window.location.reload(); return; }
        window.setTimeout(tick, 2000);
      })
      .catch(function () { window.setTimeout(tick, 5000); });
  }
  window.setTimeout(tick, 2000);
})();
