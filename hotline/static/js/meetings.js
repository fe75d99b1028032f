/* The meetings' pages: "add a row" on the minutes' and the visit's forms, "Print" on the agenda.
 *
 * Served from this site under the strict Content-Security-Policy (no inline script).  Without it the pages
 * still work: the forms carry a few empty rows, the browser prints from its menu.  The buttons are hidden in
 * the markup and shown here.
 */
(function () {
  "use strict";

  function addRows(button) {
    var template = document.getElementById(button.getAttribute("data-add-row"));
    var rows = document.getElementById(button.getAttribute("data-rows"));
    if (!template || !rows) {
      return;
    }
    var next = parseInt(rows.getAttribute("data-next-index"), 10) || 0;
    var max = parseInt(rows.getAttribute("data-max"), 10) || 100;
    button.hidden = false;
    button.addEventListener("click", function () {
      var count = rows.querySelectorAll("[data-row]").length;
      if (count >= max) {
        button.disabled = true;
        return;
      }
      var html = template.innerHTML.split("__index__").join(String(next)).split("__number__").join(String(count + 1));
      next += 1;
      rows.setAttribute("data-next-index", String(next));
      rows.insertAdjacentHTML("beforeend", html);
      var added = rows.lastElementChild;
      var first = added && added.querySelector("select, input:not([type=hidden]), textarea");
      if (first) {
        first.focus();
      }
      if (count + 1 >= max) {
        button.disabled = true;
      }
    });
  }

  document.querySelectorAll("[data-add-row]").forEach(addRows);
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      window.print();
    });
  });
})();
