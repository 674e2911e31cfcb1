/*
 * A classic script, loaded before the page's modules: it still runs when they cannot
 * load (a file missing from an install, a proxy that blocks them). Then the page says so
 * instead of pretending to work; its script-driven buttons stay disabled, so no form is
 * ever submitted natively. i18n.js (imported by every page module) marks the page ready.
 */
(function () {
  var root = document.documentElement;
  function fail() {
    if (root.dataset.scripts === "ready") return;
    root.dataset.scripts = "failed";
    var banner = document.querySelector('[data-testid="scripts-failed"]');
    if (banner) banner.hidden = false;
  }
  // A module whose graph failed to fetch fires "error" at its <script> (no bubbling).
  window.addEventListener(
    "error",
    function (event) {
      var target = event.target;
      if (target && target.tagName === "SCRIPT") fail();
    },
    true,
  );
  document.addEventListener("DOMContentLoaded", function () {
    if (!document.querySelector('script[type="module"]')) return;
    setTimeout(function () {
      if (root.dataset.scripts !== "ready") fail();
    }, 15000);
  });
})();
