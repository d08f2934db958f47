// The live card: a clock that moves every second, and a fresh QR code before the old one expires.
// Without this script the page reloads itself (a <noscript> refresh), so nothing depends on it.
(function () {
  "use strict";
  var card = document.querySelector("[data-card-refresh]");
  if (!card) { return; }
  var clock = document.getElementById("live-clock");
  var expiry = document.getElementById("card-expiry");
  var qr = card.querySelector("[data-qr]");
  var url = card.getAttribute("data-card-refresh");
  var renewIn = Number(card.getAttribute("data-renew-in")) || 60;
  var format = new Intl.DateTimeFormat(document.documentElement.lang || "zh-Hans",
    { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false, timeZone: "Asia/Shanghai" });

  function tick() { clock.textContent = format.format(new Date()); }
  function renew() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (response.status === 409) { window.location.reload(); }  // no longer issued: the page says why
        return response.ok ? response.json() : Promise.reject(response.status);
      })
      .then(function (data) {
        qr.innerHTML = data.svg;
        expiry.textContent = data.expires_label;
        window.setTimeout(renew, data.renew_in * 1000);
      })
      .catch(function () { window.setTimeout(renew, 10000); });
  }
  tick();
  window.setInterval(tick, 1000);
  window.setTimeout(renew, renewIn * 1000);
}());
