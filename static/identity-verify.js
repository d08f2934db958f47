// Live scanning where the browser offers BarcodeDetector; everywhere else the photo input
// (which opens the camera on phones) does the same job, read on the server.
(function () {
  "use strict";
  var box = document.querySelector("[data-live-scan]");
  if (!box || !("BarcodeDetector" in window) || !navigator.mediaDevices) { return; }
  var start = box.querySelector("[data-scan-start]");
  var video = box.querySelector("video");
  var form = box.closest("form");
  var field = document.getElementById("token");

  function stop(stream) { stream.getTracks().forEach(function (track) { track.stop(); }); }
  function scan(detector, stream) {
    detector.detect(video).then(function (codes) {
      if (codes.length) {
        stop(stream);
        field.value = codes[0].rawValue;
        form.submit();
      } else {
        window.setTimeout(function () { scan(detector, stream); }, 200);
      }
    }).catch(function () { window.setTimeout(function () { scan(detector, stream); }, 500); });
  }

  window.BarcodeDetector.getSupportedFormats().then(function (formats) {
    if (formats.indexOf("qr_code") < 0) { return; }
    box.hidden = false;
    start.addEventListener("click", function () {
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (stream) {
        video.srcObject = stream;
        video.hidden = false;
        return video.play().then(function () {
          scan(new window.BarcodeDetector({ formats: ["qr_code"] }), stream);
        });
      }).catch(function () { box.hidden = true; });  // no camera or refused: the photo input remains
    });
  });
}());
