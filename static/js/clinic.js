// Small progressive enhancements. No inline scripts anywhere: everything lives here.
document.addEventListener("DOMContentLoaded", () => {
  // Dismiss flash messages after a while, but keep errors until the user acts.
  document.querySelectorAll(".flash:not(.flash-error):not(.flash-keep)").forEach((el) => {
    setTimeout(() => el.classList.add("flash-hide"), 6000);
  });
});

// A chart panel that cannot be loaded says so instead of "Loading…" for ever (htmx leaves the
// placeholder as it was on an error answer or a dropped connection).
["htmx:responseError", "htmx:sendError"].forEach((name) => {
  document.addEventListener(name, (event) => {
    const placeholder = event.detail.target && event.detail.target.closest(".panel-loading");
    if (!placeholder) return;
    placeholder.removeAttribute("aria-busy");
    placeholder.classList.add("panel-failed");
    placeholder.setAttribute("role", "alert");
    const status = event.detail.xhr && event.detail.xhr.status;
    placeholder.querySelector("p").textContent =
      status === 403
        ? "You may not see this panel."
        : "This panel could not be loaded. Reload the page to try again.";
  });
});

// A select marked data-autosubmit submits its form when changed (one action, not two).
document.addEventListener("change", (event) => {
  const select = event.target.closest && event.target.closest("select[data-autosubmit]");
  if (select && select.form) select.form.requestSubmit();
});

// The header's patient search: "/" focuses it (unless typing in a field), arrows move through
// the results, Enter opens the chosen chart, Escape closes the list.
(() => {
  const typing = (el) => el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  const box = () => document.getElementById("header-q");
  const list = () => document.getElementById("header-results");
  const items = () => Array.from((list() || document).querySelectorAll("#header-results a"));

  function choose(index) {
    const all = items();
    all.forEach((a, i) => a.setAttribute("aria-selected", i === index ? "true" : "false"));
    const input = box();
    if (input) {
      if (index >= 0 && all[index]) input.setAttribute("aria-activedescendant", all[index].id);
      else input.removeAttribute("aria-activedescendant");
    }
  }

  function selected() {
    return items().findIndex((a) => a.getAttribute("aria-selected") === "true");
  }

  document.addEventListener("keydown", (event) => {
    const input = box();
    if (!input) return;
    if (event.key === "/" && !typing(event.target) && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      input.focus();
      input.select();
      return;
    }
    if (event.target !== input) return;
    const all = items();
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!all.length) return;
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      choose((selected() + step + all.length) % all.length);
    } else if (event.key === "Enter") {
      const chosen = all[selected()] || (all.length ? all[0] : null);
      if (chosen) {
        event.preventDefault();
        window.location.assign(chosen.href);
      }
    } else if (event.key === "Escape") {
      const results = list();
      if (results) {
        results.innerHTML = "";
        results.hidden = true;
      }
      input.setAttribute("aria-expanded", "false");
    }
  });

  document.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target.id !== "header-results") return;
    const input = box();
    const has = items().length > 0;
    const results = list();
    if (results) results.hidden = !results.querySelector("li");
    if (input) input.setAttribute("aria-expanded", has ? "true" : "false");
    choose(has ? 0 : -1);
  });
})();

// Page shortcuts: an element with data-key="t" (or several keys, "n ArrowRight") is clicked
// when its key is pressed outside a field; "?" opens the page's list of shortcuts.
document.addEventListener("keydown", (event) => {
  const el = event.target;
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName))) return;
  if (document.querySelector("dialog[open]")) return;
  if (event.key === "?") {
    const help = document.querySelector("[data-shortcuts]");
    if (help) {
      event.preventDefault();
      help.open = true;
      help.querySelector("summary").focus();
    }
    return;
  }
  const target = Array.from(document.querySelectorAll("[data-key]")).find((node) =>
    node.dataset.key.split(" ").includes(event.key),
  );
  if (target) {
    event.preventDefault();
    target.click();
  }
});
