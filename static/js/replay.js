// Replay chapters: choosing one seeks the recording to when its product was shown.
// Without this file each chapter still says its time in words.
(function () {
  "use strict";
  var player = document.querySelector("[data-replay-player]");
  if (!player) return;
  document.querySelectorAll("[data-seek]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      player.currentTime = Number(link.getAttribute("data-seek")) || 0;
      player.focus();
    });
  });

  // The interpreter's recording, picture-in-picture: it follows the main picture
  // (play, pause, seek, speed), starting `data-offset` seconds into it.
  var signer = document.querySelector("[data-replay-signer]");
  var signerBox = document.querySelector("[data-replay-signer-box]");
  var toggle = document.querySelector("[data-toggle-replay-signer]");
  if (!signer) return;
  var offset = Number(signer.getAttribute("data-offset")) || 0;
  function follow() {
    var at = player.currentTime - offset;
    if (at < 0 || (signer.duration && at > signer.duration)) {
      if (!signer.paused) signer.pause();
      return;
    }
    if (Math.abs(signer.currentTime - at) > 0.3) signer.currentTime = at;
    signer.playbackRate = player.playbackRate;
    if (player.paused && !signer.paused) signer.pause();
    if (!player.paused && signer.paused) signer.play().catch(function () {});
  }
  ["play", "pause", "seeked", "ratechange"].forEach(function (name) {
    player.addEventListener(name, follow);
  });
  setInterval(function () { if (!player.paused) follow(); }, 2000);
  if (toggle) {
    toggle.addEventListener("click", function () {
      var shown = toggle.getAttribute("aria-pressed") !== "true";
      toggle.setAttribute("aria-pressed", shown ? "true" : "false");
      signerBox.hidden = !shown;
    });
  }
})();
