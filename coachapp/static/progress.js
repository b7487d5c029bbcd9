// A background job's page (the CSV import, a rules replay): poll the JSON at data-progress-url,
// put each value into the element with that id, move the bar to the count named by
// data-progress-count (and its max to the total, when the JSON has one), and once the job is done
// or failed reload once to show the outcome. Every data-progress-every ms (default 2000).
// A failed reply (5xx, 429) or a network error is asked again after 5 s. Optional: without
// JavaScript the page has a Refresh link.
(function () {
  "use strict";
  var box = document.getElementById("progress");
  var url = box && box.getAttribute("data-progress-url");
  if (!url) { return; }
  var count = box.getAttribute("data-progress-count") || "processed";
  var every = parseInt(box.getAttribute("data-progress-every"), 10) || 2000;
  function tick() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (response.ok) { return response.json(); }
        // a server error or a rate limit passes: ask again later; a job gone (404) or no longer
        // ours to see (403) will not come back
        if (response.status !== 404 && response.status !== 403) { window.setTimeout(tick, 5000); }
        return null;
      })
      .then(function (data) {
        if (!data) { return; }
        Object.keys(data).forEach(function (key) {
          var node = document.getElementById(key);
          if (node && node.tagName !== "PROGRESS" && data[key] !== null && typeof data[key] !== "object") {
            node.textContent = String(data[key]);
          }
        });
        var bar = document.getElementById("bar");
        if (bar) { bar.value = data[count]; if (data.total) { bar.max = data.total; } }
        if (data.status === "done" || data.status === "failed") { window.location.reload(); return; }
        window.setTimeout(tick, every);
      })
      .catch(function () { window.setTimeout(tick, 5000); });
  }
  window.setTimeout(tick, every);
})();
