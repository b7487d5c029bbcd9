/* coachapp embed: put the Runner Assessment or the strategy-session form on your own site.

     <div data-coachapp-embed="assessment"></div>   (or "strategy")
     <script src="https://YOUR-APP/static/embed.js" async></script>

   Each such element gets an iframe of the page in its compact layout (?embed=1), with this
   page's address (host=…) and its utm_* parameters passed along, so the lead's first touch
   names the page they started on and the campaign that brought them. The frame grows and
   shrinks with its content: the embedded page posts {type: "coachapp:height", height}, and
   only messages from the app's own origin are believed. No dependencies. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var app = new URL(script.src, location.href);
  var PAGES = {
    assessment: { path: "/assessment", title: "Free Runner Assessment" },
    strategy: { path: "/strategy-session", title: "Book a Free Strategy Session" }
  };
  var UTM = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"];

  function frameUrl(page) {
    var url = new URL(page.path, app.origin);
    var here = new URL(location.href);
    url.searchParams.set("embed", "1");
    url.searchParams.set("host", location.href.slice(0, 500));
    UTM.forEach(function (key) {
      var value = here.searchParams.get(key);
      if (value) url.searchParams.set(key, value.slice(0, 200));
    });
    return url.href;
  }

  function embed(el) {
    var page = PAGES[el.getAttribute("data-coachapp-embed")];
    if (!page || el.querySelector("iframe[data-coachapp]")) return;
    var frame = document.createElement("iframe");
    frame.src = frameUrl(page);
    frame.title = el.getAttribute("data-title") || page.title;
    frame.setAttribute("loading", "lazy");
    frame.setAttribute("data-coachapp", "");
    frame.style.width = "100%";
    frame.style.border = "0";
    frame.style.display = "block";
    frame.style.height = (el.getAttribute("data-height") || "640") + "px";
    el.appendChild(frame);
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== app.origin) return;
    var data = event.data;
    if (!data || data.type !== "coachapp:height" || typeof data.height !== "number") return;
    var frames = document.querySelectorAll("iframe[data-coachapp]");
    for (var i = 0; i < frames.length; i++) {
      if (frames[i].contentWindow === event.source) {
        frames[i].style.height = Math.max(200, Math.min(Math.round(data.height), 20000)) + "px";
      }
    }
  });

  var targets = document.querySelectorAll("[data-coachapp-embed]");
  for (var i = 0; i < targets.length; i++) embed(targets[i]);
})();
