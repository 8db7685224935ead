// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // Keep focused and scrolled-to elements clear of the sticky header, however tall the
  // menu has grown (site.css has a 7rem fallback; narrow screens have no sticky header).
  var header = document.querySelector(".site-header");
  function clearStickyHeader() {
    var position = header ? getComputedStyle(header).position : "static";
    document.documentElement.style.scrollPaddingTop =
      position === "sticky" || position === "fixed" ? (header.offsetHeight + 16) + "px" : "";
  }
  clearStickyHeader();
  window.addEventListener("resize", clearStickyHeader);

  // Compact menu on a phone: the main links fold behind a "Menu" button (disclosure
  // pattern: aria-expanded on the button; Escape closes it and focus goes back to it).
  // Wider screens, and browsers without this script, always show the links.
  var nav = document.querySelector(".main-nav");
  var toggle = nav && nav.querySelector("[data-menu-toggle]");
  if (toggle && window.matchMedia) {
    var narrow = window.matchMedia("(max-width: 40em)");
    var setOpen = function (open) {
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      nav.classList.toggle("is-folded", !open);
      clearStickyHeader();
    };
    var fit = function () {
      toggle.hidden = !narrow.matches;
      nav.classList.toggle("is-compact", narrow.matches);
      setOpen(!narrow.matches);
    };
    toggle.addEventListener("click", function () {
      setOpen(toggle.getAttribute("aria-expanded") !== "true");
    });
    nav.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && narrow.matches &&
          toggle.getAttribute("aria-expanded") === "true") {
        setOpen(false);
        toggle.focus();
      }
    });
    if (narrow.addEventListener) narrow.addEventListener("change", fit);
    fit();
  }

  // Time zone: when the visitor has not chosen one, preselect the device's own zone in
  // the select and say so. Nothing changes until they press the button themselves.
  var zoneSelect = document.querySelector("select[data-browser-zone]");
  if (zoneSelect && window.Intl && Intl.DateTimeFormat) {
    var deviceZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    var offered = Array.prototype.some.call(zoneSelect.options, function (option) {
      return option.value === deviceZone;
    });
    if (deviceZone && offered && zoneSelect.value !== deviceZone) {
      zoneSelect.value = deviceZone;
      var zoneHint = zoneSelect.parentNode.querySelector("[data-browser-zone-hint]") ||
        document.querySelector("[data-browser-zone-hint]");
      if (zoneHint) zoneHint.hidden = false;
    }
  }

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

  // A live price's countdown beside a cart line (the words beside it say when it ends).
  var countdowns = document.querySelectorAll("[data-countdown-to]");
  if (countdowns.length) {
    var tick = function () {
      countdowns.forEach(function (element) {
        var left = Math.max(0, Math.round(
          (new Date(element.getAttribute("data-countdown-to")) - new Date()) / 1000));
        element.textContent = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
      });
    };
    tick();
    setInterval(tick, 1000);
  }

  // "Print" on a statement (here, not in an onclick: the page's policy refuses those).
  document.querySelectorAll("[data-print-page]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
})();
