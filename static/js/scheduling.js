// Scheduling pages: the booking dialog, colours from data attributes, drag to reschedule.
// No inline scripts or handlers anywhere: everything is wired here.
(() => {
  "use strict";

  let opener = null;

  function paint(root) {
    // Colours come from the data (type and provider colours), set as CSS variables.
    root.querySelectorAll("[data-colour]").forEach((el) => {
      const colour = el.dataset.colour;
      if (/^#[0-9a-fA-F]{6}$/.test(colour)) {
        el.style.setProperty(el.classList.contains("appt") ? "--type" : "--col", colour);
      }
    });
  }

  function dialog() {
    return document.getElementById("book-dialog");
  }

  function focusFirst(container) {
    const target =
      container.querySelector("[aria-invalid='true'], .errorlist ~ input, [autofocus]") ||
      container.querySelector("input:not([type=hidden]), select, textarea, button");
    if (target) target.focus();
  }

  document.addEventListener("DOMContentLoaded", () => {
    paint(document);
    // With JavaScript the search runs as you type; the no-JS search buttons are not needed.
    document.querySelectorAll("[data-no-js]").forEach((el) => el.setAttribute("hidden", ""));
  });

  document.addEventListener("htmx:beforeRequest", (event) => {
    const source = event.detail.elt;
    if (source && source.getAttribute("hx-target") === "#dialog-body") opener = source;
  });

  // Nobody found: open the new-patient form, its names filled from what was typed.
  function offerRegistration(root) {
    const none = root.querySelector("[data-no-match]");
    const details = document.querySelector("[data-new-patient]");
    if (!none || !details) return;
    details.open = true;
    const words = none.dataset.noMatch.trim().split(/\s+/).filter((w) => !/\d/.test(w));
    const first = details.querySelector("[name='new-first_name']");
    const last = details.querySelector("[name='new-last_name']");
    const cap = (w) => w.charAt(0).toUpperCase() + w.slice(1);
    if (words.length > 1 && first && last && !first.value && !last.value) {
      first.value = cap(words[0]);
      last.value = words.slice(1).map(cap).join(" ");
    } else if (words.length === 1 && last && !last.value) {
      last.value = cap(words[0]);
    }
  }

  document.addEventListener("htmx:afterSwap", (event) => {
    offerRegistration(event.detail.target);
    paint(event.detail.target);
    event.detail.target.querySelectorAll("[data-no-js]").forEach((el) => el.setAttribute("hidden", ""));
    if (event.detail.target.id === "dialog-body") {
      const dlg = dialog();
      if (dlg && !dlg.open) dlg.showModal();
      focusFirst(event.detail.target);
    }
  });

  document.addEventListener("click", (event) => {
    const closer = event.target.closest("[data-close-dialog]");
    if (closer) {
      const dlg = closer.closest("dialog");
      if (dlg) dlg.close();
      else window.history.back(); // the booking form opened as a page of its own
    }
    if (event.target.closest("[data-print]")) window.print();
  });

  document.addEventListener(
    "close",
    (event) => {
      if (event.target.id === "book-dialog") {
        document.getElementById("dialog-body").innerHTML = "";
        if (opener && document.contains(opener)) opener.focus();
      }
    },
    true,
  );

  // Enter in a search box searches; it must not submit the booking form around it.
  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target.matches("[data-search]")) {
      event.preventDefault();
      if (window.htmx) window.htmx.trigger(event.target, "search");
    }
  });

  // Drag a booked appointment onto a free quarter hour to move it there.
  let moving = null;
  document.addEventListener("dragstart", (event) => {
    const appt = event.target.closest && event.target.closest("[data-move]");
    if (!appt) return;
    moving = appt.dataset.move;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", moving);
  });
  document.addEventListener("dragend", () => {
    moving = null;
    document.querySelectorAll(".drop-target").forEach((el) => el.classList.remove("drop-target"));
  });
  document.addEventListener("dragover", (event) => {
    const cell = moving && event.target.closest && event.target.closest(".cal-free");
    if (!cell) return;
    event.preventDefault();
    document.querySelectorAll(".drop-target").forEach((el) => el !== cell && el.classList.remove("drop-target"));
    cell.classList.add("drop-target");
  });
  document.addEventListener("drop", (event) => {
    const cell = moving && event.target.closest && event.target.closest(".cal-free");
    if (!cell || !window.htmx) return;
    event.preventDefault();
    const start = cell.dataset.start.slice(0, 16);
    const values = { start: start };
    if (cell.dataset.provider) values.provider = cell.dataset.provider;
    if (cell.dataset.room) values.room = cell.dataset.room;
    window.htmx.ajax("POST", moving, { source: cell, values: values, target: "#sched-flash", swap: "outerHTML" });
    moving = null;
  });
})();
