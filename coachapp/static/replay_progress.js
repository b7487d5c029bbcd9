// A replay's progress: poll progress.json every second and update the count in place; when the
// replay has finished, reload once to show the outcome. Optional: the page has a Refresh link.
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
        set("done", data.done);
        set("status", data.status);
        if (data.total) { set("total", data.total); }
        var bar = document.getElementById("bar");
        if (bar) { bar.value = data.done; if (data.total) { bar.max = data.total; } }
        if (data.status === "done" || data.status === "failed") { window.location.reload(); return; }
        window.setTimeout(tick, 1000);
      })
      .catch(function () { window.setTimeout(tick, 5000); });
  }
  window.setTimeout(tick, 1000);
})();
