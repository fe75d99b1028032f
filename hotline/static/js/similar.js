/* The filing forms: requests that look like the one being typed (GET /tickets/similar), as the person types.
 *
 * Served from this site under the strict Content-Security-Policy (no inline script).  Without it the form
 * still works: its "Check for similar requests" button asks the server for the same list.
 */
(function () {
  "use strict";

  var form = document.querySelector("form[data-similar-url]");
  var box = document.getElementById("similar-requests");
  if (!form || !box || !window.fetch) {
    return;
  }
  var list = box.querySelector(".similar-list");
  var timer = null;
  var last = "";

  function value(name) {
    var field = form.elements[name];
    return field ? field.value : "";
  }

  function show(items) {
    list.textContent = "";
    items.forEach(function (item) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = item.url;
      a.textContent = item.number;
      li.appendChild(a);
      li.appendChild(document.createTextNode(
        " · " + item.title + " · " + item.state_label + " · " + box.getAttribute("data-score") + " " + item.score
      ));
      list.appendChild(li);
    });
    box.hidden = items.length === 0;
  }

  function check() {
    var params = new URLSearchParams({
      category: value("category"),
      title: value("title"),
      description: value("description"),
      enterprise_uscc: value("enterprise_uscc")
    });
    var query = params.toString();
    if (query === last) {
      return;
    }
    last = query;
    fetch(form.getAttribute("data-similar-url") + "?" + query, {credentials: "same-origin"})
      .then(function (response) { return response.ok ? response.json() : {items: []}; })
      .then(function (data) { if (query === last) { show(data.items || []); } })
      .catch(function () {});
  }

  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(check, 500);
  });
  form.addEventListener("change", function () {
    clearTimeout(timer);
    timer = setTimeout(check, 100);
  });
})();
