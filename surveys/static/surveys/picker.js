/* New campaign: the customer picker. Without this file it is a plain list of tick boxes; with it, a search box
   filters the list by name and the count of picked customers follows the ticks. */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-picker]").forEach(function (picker) {
      var search = picker.querySelector("[data-picker-search]");
      var items = Array.prototype.slice.call(picker.querySelectorAll(".picker__item"));
      var none = picker.querySelector("[data-picker-none]");
      var count = picker.querySelector("[data-picker-count]");
      var update = function () {
        var n = picker.querySelectorAll(".picker__item input:checked").length;
        count.textContent = n + " picked";
      };
      search.hidden = false;
      search.addEventListener("input", function () {
        var q = search.value.trim().toLowerCase();
        var shown = 0;
        items.forEach(function (item) {
          // Ticked customers stay in view, so a search never hides what is already picked.
          var match = !q || item.dataset.name.indexOf(q) !== -1 || item.querySelector("input").checked;
          item.hidden = !match;
          if (match) shown += 1;
        });
        none.hidden = shown > 0;
      });
      search.addEventListener("keydown", function (evt) {
        if (evt.key === "Enter") evt.preventDefault();  // Enter in the search box must not submit the form
      });
      picker.addEventListener("change", update);
      update();
    });
  });
})();
