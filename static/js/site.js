// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // GOV.UK pattern: after a failed submit the error summary takes focus, and its links
  // move focus to the field (scrolling its label into view, clear of the header).
  var summary = document.querySelector("[data-error-summary]");
  if (summary) {
    summary.focus();
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      if (!link) return;
      var field = document.getElementById(link.getAttribute("href").slice(1));
      if (!field) return;
      event.preventDefault();
      var target = field.matches("fieldset") ? field.querySelector("input, select, textarea") : field;
      var label = document.querySelector("label[for='" + field.id + "']") || field;
      label.scrollIntoView({ block: "center" });
      (target || field).focus({ preventScroll: true });
    });
  }
})();
