/* coachapp, inside the coach's site (?embed=1): tell the host page how tall this page is, so
   its iframe (static/embed.js) fits the content without a scrollbar. Posted to each allowed
   site only (EMBED_ORIGINS, from the body's data-embed-origins): the browser drops a message
   whose target origin is not the parent's, so nobody else learns anything. */
(function () {
  "use strict";
  if (window.parent === window) return;
  var origins = (document.body.getAttribute("data-embed-origins") || "").split(" ").filter(Boolean);
  var last = 0;
  function send() {
    var height = Math.ceil(document.body.getBoundingClientRect().height);
    if (!height || height === last) return;
    last = height;
    origins.forEach(function (origin) {
      window.parent.postMessage({ type: "coachapp:height", height: height }, origin);
    });
  }
  send();
  window.addEventListener("load", send);
  window.addEventListener("resize", send);
  if (window.ResizeObserver) new ResizeObserver(send).observe(document.body);
  if (window.MutationObserver) {
    new MutationObserver(send).observe(document.body, { childList: true, subtree: true, attributes: true });
  }
})();
