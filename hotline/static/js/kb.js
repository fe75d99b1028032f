/* The request form: policy answers matching the typed title, beside the form (templates/kb/_suggestions.html).
 *
 * Served from this site under the strict Content-Security-Policy (no inline script).  Asks /kb/suggest once
 * the typing pauses (debounced), at most one request in flight; builds the list with text nodes only (never
 * innerHTML: a title is text).  "This answered my question" posts a form with the page's CSRF token.
 * Without the script the form files as ever and the link to the knowledge base stays.
 */
(function () {
  "use strict";

  var box = document.getElementById("kb-suggestions");
  var form = document.getElementById("ticket-form");
  if (!box || !form) {
    return;
  }
  var title = form.querySelector("[name=title]");
  var description = form.querySelector("[name=description]");
  var tokenInput = form.querySelector("[name=csrf_token]");
  var list = box.querySelector(".kb-suggestion-list");
  var url = box.getAttribute("data-suggest-url");
  var answered = box.getAttribute("data-answered-label");
  var timer = null;
  var last = null;
  var controller = null;

  function show(items) {
    while (list.firstChild) {
      list.removeChild(list.firstChild);
    }
    items.forEach(function (item) {
      var li = document.createElement("li");
      li.className = "mb-2 kb-suggestion";
      var link = document.createElement("a");
      link.href = item.url;
      link.target = "_blank";
      link.rel = "noopener";
      link.textContent = item.title;
      li.appendChild(link);
      if (tokenInput) {
        var deflect = document.createElement("form");
        deflect.method = "post";
        deflect.action = item.deflect_url;
        var token = document.createElement("input");
        token.type = "hidden";
        token.name = "csrf_token";
        token.value = tokenInput.value;
        var button = document.createElement("button");
        button.type = "submit";
        button.className = "btn btn-sm btn-outline-success mt-1";
        button.textContent = answered;
        deflect.appendChild(token);
        deflect.appendChild(button);
        li.appendChild(deflect);
      }
      list.appendChild(li);
    });
  }

  function ask() {
    var text = (title ? title.value : "").trim();
    if (!text && description) {
      text = description.value.trim().slice(0, 100);
    }
    if (text === last) {
      return;
    }
    last = text;
    if (!text) {
      show([]);
      return;
    }
    if (controller) {
      controller.abort();
    }
    controller = new AbortController();
    fetch(url + "?q=" + encodeURIComponent(text.slice(0, 100)), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      signal: controller.signal,
    })
      .then(function (response) {
        return response.ok ? response.json() : [];
      })
      .then(show)
      .catch(function () {});
  }

  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(ask, 400);
  }

  [title, description].forEach(function (field) {
    if (field) {
      field.addEventListener("input", later);
    }
  });
  ask();
})();
