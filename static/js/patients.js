// Patient search boxes, pickers and live form validation. Loaded by the patient pages and by
// any page that embeds the search partial (see docs/patients.md).
(() => {
  "use strict";

  const links = (container) => Array.from(container.querySelectorAll(".result-link"));

  // Keyboard: ↓ from a search box into its results, ↑/↓ between results, Esc back to the box.
  document.addEventListener("keydown", (event) => {
    const box = event.target.closest("input[data-results]");
    if (box && event.key === "ArrowDown") {
      const results = document.getElementById(box.dataset.results);
      const first = results && links(results)[0];
      if (first) {
        event.preventDefault();
        first.focus();
      }
      return;
    }
    const item = event.target.closest(".result-link");
    if (!item) return;
    const container = item.closest("[id]");
    const all = links(container);
    const index = all.indexOf(item);
    if (event.key === "ArrowDown" && index < all.length - 1) {
      event.preventDefault();
      all[index + 1].focus();
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      if (index > 0) {
        all[index - 1].focus();
      } else {
        const owner = document.querySelector(`input[data-results="${container.id}"]`);
        if (owner) owner.focus();
      }
    } else if (event.key === "Escape") {
      const owner = document.querySelector(`input[data-results="${container.id}"]`);
      if (owner) owner.focus();
    }
  });

  // Pickers: a "Select" button fills the element named by data-pick-target with the patient's
  // id, shows the label in #<target>-label, and announces a "patient:picked" event.
  document.addEventListener("click", (event) => {
    const button = event.target.closest(".patient-pick");
    if (!button) return;
    const target = document.getElementById(button.dataset.pickTarget);
    if (!target) return;
    target.value = button.dataset.patientId;
    target.dispatchEvent(new Event("change", { bubbles: true }));
    const label = document.getElementById(`${target.id}-label`);
    if (label) label.textContent = `Chosen: ${button.dataset.patientLabel}`;
    button.closest("table").querySelectorAll(".patient-pick").forEach((b) => b.setAttribute("aria-pressed", "false"));
    button.setAttribute("aria-pressed", "true");
    target.dispatchEvent(
      new CustomEvent("patient:picked", {
        bubbles: true,
        detail: { id: button.dataset.patientId, mrn: button.dataset.patientMrn, label: button.dataset.patientLabel },
      }),
    );
  });

  // Live validation replaces the error slots out of band; keep aria-invalid in step with them.
  document.addEventListener("htmx:afterSettle", () => {
    document.querySelectorAll(".field-errors[id^='errors-']").forEach((slot) => {
      const name = slot.id.slice("errors-".length);
      const form = slot.closest("form");
      const input = form && form.querySelector(`[name="${CSS.escape(name)}"]`);
      if (!input) return;
      if (slot.querySelector("li")) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    });
  });
})();
