// The catalog's search box: filters the list as you type (the server filters ?q= without JS).
"use strict";
(function () {
  const input = document.getElementById("search");
  const items = Array.from(document.querySelectorAll("#exports > li"));
  const count = document.querySelector("[data-count]");
  const none = document.getElementById("no-match");
  function filter() {
    const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const item of items) {
      const text = item.dataset.search;
      const match = words.every((word) => text.includes(word));
      item.hidden = !match;
      if (match) shown += 1;
    }
    count.textContent = String(shown);
    none.hidden = shown > 0;
    const url = new URL(location.href);
    if (input.value) url.searchParams.set("q", input.value); else url.searchParams.delete("q");
    history.replaceState(null, "", url);
  }
  input.addEventListener("input", filter);
  input.form.addEventListener("submit", (event) => { event.preventDefault(); filter(); });
})();
