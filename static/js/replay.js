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
})();
