/* The spa's fixes to Django's admin: served from our own origin (the Content-Security-Policy
   allows no inline script). */
(function () {
  "use strict";

  /* An autocomplete box (select2) is named by its field's label as well as by what it
     holds, so a screen reader says "Client: Wren Walker", not just "Wren Walker". */
  function nameAutocompletes(root) {
    var boxes = root.querySelectorAll(".select2-selection[role=combobox][aria-labelledby]");
    Array.prototype.forEach.call(boxes, function (box) {
      var shows = box.getAttribute("aria-labelledby").split(" ").pop();
      var match = /^select2-(.+)-container$/.exec(shows);
      var label = match && document.querySelector("label[for='" + match[1] + "']");
      if (!label) return;
      if (!label.id) label.id = match[1] + "-label";
      box.setAttribute("aria-labelledby", label.id + " " + shows);
      // What it holds (a read-only box of its own to select2) is named by the label too.
      var holds = document.getElementById(shows);
      if (holds && holds.getAttribute("role")) holds.setAttribute("aria-labelledby", label.id);
    });
  }

  // select2 starts after the page has loaded (jQuery's ready runs late), and again for
  // each inline form added: name the boxes whenever some appear.
  new MutationObserver(function () {
    nameAutocompletes(document);
  }).observe(document.documentElement, { childList: true, subtree: true });
  nameAutocompletes(document);
})();
