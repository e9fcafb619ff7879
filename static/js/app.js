/* cshub: tiny progressive enhancements on top of htmx. Pages work without this file. */
(function () {
  "use strict";

  function toast(message, kind) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var el = document.createElement("div");
    el.className = "toast toast--" + (kind || "info");
    el.setAttribute("role", "status");
    el.textContent = message;
    box.appendChild(el);
    setTimeout(function () { el.classList.add("toast--leaving"); }, 4000);
    setTimeout(function () { el.remove(); }, 4600);
  }
  window.cshubToast = toast;

  // htmx does not swap 4xx/5xx answers (except 422, see base.html): say what happened instead of doing nothing.
  document.addEventListener("htmx:responseError", function (evt) {
    var status = evt.detail.xhr.status;
    if (status === 403) toast("You don't have permission to do that.", "error");
    else if (status === 404) toast("That page no longer exists.", "error");
    else toast("Something went wrong (" + status + "). Please try again.", "error");
  });
  document.addEventListener("htmx:sendError", function () {
    toast("Can't reach the server. Check your connection and try again.", "error");
  });

  // Server-sent toasts: HX-Trigger: {"toast": {"message": "...", "kind": "success"}}
  document.addEventListener("toast", function (evt) {
    if (evt.detail && evt.detail.message) toast(evt.detail.message, evt.detail.kind);
  });

  // GET forms marked data-clean-query drop empty fields, so pushed URLs read /book/?segment=SMB, not ?q=&segment=SMB&…
  document.addEventListener("htmx:configRequest", function (evt) {
    if (evt.detail.verb !== "get" || !evt.detail.elt.closest("[data-clean-query]")) return;
    var params = evt.detail.parameters;
    Object.keys(params).forEach(function (key) {
      if (params[key] === "" || params[key] === undefined) delete params[key];
    });
  });

  // A table wider than its card scrolls sideways inside .table-wrap; on a phone nothing shows that more
  // columns are hidden to the right, so an overflowing wrap gets a hint above it (and loses it when it fits).
  function markScrollables() {
    document.querySelectorAll(".table-wrap").forEach(function (wrap) {
      var hint = wrap.previousElementSibling;
      var has = hint && hint.classList.contains("scroll-hint");
      var overflows = wrap.clientWidth > 0 && wrap.scrollWidth > wrap.clientWidth + 1;
      wrap.classList.toggle("table-wrap--overflows", overflows);
      if (overflows && !has) {
        hint = document.createElement("p");
        hint.className = "scroll-hint";
        hint.textContent = "Scroll sideways for more columns \u2192";
        wrap.parentNode.insertBefore(hint, wrap);
      } else if (!overflows && has) {
        hint.remove();
      }
    });
  }
  document.addEventListener("DOMContentLoaded", markScrollables);
  window.addEventListener("resize", markScrollables);
  document.addEventListener("htmx:afterSettle", markScrollables);
  document.addEventListener("toggle", markScrollables, true);  // tables inside <details>

  // Close the mobile menu after navigating.
  document.addEventListener("htmx:beforeRequest", function () {
    var toggle = document.getElementById("nav-toggle");
    if (toggle) toggle.checked = false;
  });

  // The top-bar search: arrow keys move through the hits, Enter opens the chosen one (or the results page),
  // Escape or a click elsewhere closes the dropdown.
  function searchHits(form) {
    return Array.prototype.slice.call(form.querySelectorAll("#search-results .search__hit"));
  }
  document.addEventListener("keydown", function (evt) {
    var input = evt.target;
    var form = input && input.closest && input.closest("form[data-search]");
    if (!form) return;
    var hits = searchHits(form);
    var current = hits.findIndex(function (h) { return h.getAttribute("aria-selected") === "true"; });
    if (evt.key === "ArrowDown" || evt.key === "ArrowUp") {
      if (!hits.length) return;
      evt.preventDefault();
      var next = evt.key === "ArrowDown" ? Math.min(current + 1, hits.length - 1) : Math.max(current - 1, 0);
      hits.forEach(function (h, i) { h.setAttribute("aria-selected", i === next ? "true" : "false"); });
      hits[next].scrollIntoView({ block: "nearest" });
      input.setAttribute("aria-activedescendant", hits[next].id);
    } else if (evt.key === "Enter" && current >= 0) {
      evt.preventDefault();
      window.location.href = hits[current].href;
    } else if (evt.key === "Escape") {
      form.querySelector("#search-results").innerHTML = "";
    }
  });
  document.addEventListener("click", function (evt) {
    var results = document.getElementById("search-results");
    if (results && !evt.target.closest("form[data-search]")) results.innerHTML = "";
  });
})();
