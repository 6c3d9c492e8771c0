// The contact page's suggestions: as the visitor writes their message, the help
// center's best articles for it appear under the box. Without this script the page's
// search step does the same in one more click.
(function () {
  "use strict";
  var box = document.getElementById("message");
  var list = document.getElementById("suggestions");
  if (!box || !list || !window.fetch) return;
  var step = document.getElementById("search-step");
  if (step) step.hidden = true;
  var timer = null;
  var asked = "";
  function show(items) {
    list.textContent = "";
    if (!items.length) { list.hidden = true; return; }
    var heading = document.createElement("p");
    heading.className = "hint";
    heading.textContent = list.getAttribute("data-heading");
    list.appendChild(heading);
    var ul = document.createElement("ul");
    ul.className = "hits";
    items.forEach(function (item) {
      var li = document.createElement("li");
      li.lang = item.language;
      li.dir = "auto";
      var a = document.createElement("a");
      a.href = item.url;
      a.target = "_blank";
      a.rel = "noopener";
      a.textContent = item.title;
      li.appendChild(a);
      if (item.summary) {
        var p = document.createElement("p");
        p.className = "hint";
        p.textContent = item.summary;
        li.appendChild(p);
      }
      ul.appendChild(li);
    });
    list.appendChild(ul);
    list.hidden = false;
  }
  function ask() {
    var q = box.value.trim();
    if (q.length < 8 || q === asked) return;
    asked = q;
    fetch("/help/search.json?q=" + encodeURIComponent(q.slice(0, 500)), {
      headers: { Accept: "application/json" },
      credentials: "omit"
    })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (items) { if (asked === q) show(items); })
      .catch(function () {});
  }
  box.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(ask, 350);
  });
})();
