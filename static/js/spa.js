/* Spa Booking: small enhancements on top of pages that work without JavaScript.
   Served from our own origin, so the strict Content-Security-Policy (no inline script) holds. */
(function () {
  "use strict";

  /* The error summary at the top of a form takes the focus, so a screen reader reads what
     to fix and a keyboard user starts from it; each of its links moves the focus to the
     field itself and shows the field's label or question (GOV.UK's error summary). */
  function enhanceErrorSummary() {
    var summary = document.querySelector("[data-error-summary]");
    if (!summary) return;
    summary.focus();
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      if (!link) return;
      var input = document.getElementById(link.getAttribute("href").slice(1));
      if (!input) return;
      event.preventDefault();
      var question = input.closest("fieldset");
      var legend = question && question.querySelector("legend");
      var label = document.querySelector("label[for='" + input.id + "']");
      (legend || label || input).scrollIntoView();
      input.focus({ preventScroll: true });
    });
  }

  /* A box that only matters after a "yes" (the questionnaire's "If yes: date" boxes) is
     shown only while its question is answered "yes". Without JavaScript every box shows,
     and the server ignores a date whose question is answered "no". */
  function enhanceConditionalFields() {
    var boxes = document.querySelectorAll("[data-shown-if-yes]");
    Array.prototype.forEach.call(boxes, function (box) {
      var radios = document.querySelectorAll(
        "input[type=radio][name='" + box.getAttribute("data-shown-if-yes") + "']"
      );
      function update() {
        var yes = Array.prototype.some.call(radios, function (radio) {
          return radio.checked && radio.value === "yes";
        });
        box.hidden = !yes;
      }
      Array.prototype.forEach.call(radios, function (radio) {
        radio.addEventListener("change", update);
      });
      update();
    });
  }

  function start() {
    enhanceErrorSummary();
    enhanceConditionalFields();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
