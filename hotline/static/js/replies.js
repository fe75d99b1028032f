/* A request's page: choosing a reply template puts its text (already filled for the request) in the form's
 * textarea, at the cursor, and the select goes back to its first option.
 *
 * Served from this site under the strict Content-Security-Policy (no inline script).  Without it the
 * picker's button reloads the page with the form filled (?template=<id>&into=<form>); with it the button is
 * hidden.  The text is read from the option's data attribute and set as the textarea's value: text, never
 * markup.
 */
(function () {
  "use strict";

  // At the cursor when the person has been typing in the textarea; else after what it holds, on a new line.
  function insert(textarea, text) {
    var value = textarea.value;
    if (!value) {
      textarea.value = text;
    } else if (textarea.getAttribute("data-typed") === "1") {
      var start = textarea.selectionStart, end = textarea.selectionEnd;
      textarea.value = value.slice(0, start) + text + value.slice(end);
      textarea.setSelectionRange(start + text.length, start + text.length);
    } else {
      textarea.value = value + "\n" + text;
    }
    textarea.focus();
  }

  document.querySelectorAll("select.reply-template-select").forEach(function (select) {
    var textarea = document.getElementById(select.getAttribute("data-target"));
    if (!textarea) {
      return;
    }
    textarea.addEventListener("input", function () {
      textarea.setAttribute("data-typed", "1");
    });
    var button = select.form && select.form.querySelector(".reply-template-insert");
    if (button) {
      button.hidden = true;
    }
    select.addEventListener("change", function () {
      var option = select.options[select.selectedIndex];
      if (option && option.value) {
        insert(textarea, option.getAttribute("data-text") || "");
      }
      select.selectedIndex = 0;
    });
  });
})();
