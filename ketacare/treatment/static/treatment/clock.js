/* Treatment pages: tick the observation countdowns between server refreshes, and close the board's side panel.
   The server's clock is the reference (data-server-now on the refreshed region), never the device's. */
(function () {
  "use strict";
  function offsetOf(el) {
    var region = el.closest("[data-server-now]");
    if (!region) { return 0; }
    if (region.dataset.offset === undefined) {
      region.dataset.offset = String(Date.parse(region.dataset.serverNow) - Date.now());
    }
    return Number(region.dataset.offset);
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function tick() {
    document.querySelectorAll("[data-countdown-until]").forEach(function (el) {
      var left = Math.max(0, Math.floor((Date.parse(el.dataset.countdownUntil) - (Date.now() + offsetOf(el))) / 1000));
      el.textContent = Math.floor(left / 3600) + ":" + pad(Math.floor(left % 3600 / 60));
    });
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-close-panel]");
    if (button) {
      var panel = document.getElementById(button.dataset.closePanel);
      if (panel) { panel.innerHTML = ""; }
    }
  });
  window.setInterval(tick, 1000);
})();
