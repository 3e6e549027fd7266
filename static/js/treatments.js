// Clinical forms: growing tables of rows, the toxin session's live totals and lot picker, and
// Sunnybrook's live scores. Progressive enhancement only: every form works without this file,
// and the server computes and checks everything again.
(() => {
  "use strict";

  const changed = (el) => el.dispatchEvent(new Event("formset:changed", { bubbles: true }));

  // --- Tables of rows (Django formsets) ---------------------------------------------------------
  function setupFormset(root) {
    const prefix = root.dataset.formset;
    const total = root.querySelector(`input[name="${prefix}-TOTAL_FORMS"]`);
    const body = root.querySelector("[data-formset-body]");
    const template = root.querySelector("template[data-formset-template]");
    const addButton = root.querySelector("[data-formset-add]");
    if (!total || !body || !template) return;

    const enhanceRow = (row) => {
      const check = row.querySelector('input[name$="-DELETE"]');
      const button = row.querySelector("[data-formset-remove]");
      if (!check || !button) return;
      check.closest("label").hidden = true;
      button.hidden = false;
      if (check.checked) row.hidden = true;
      button.addEventListener("click", () => {
        check.checked = true;
        row.hidden = true;
        const next = row.nextElementSibling && !row.nextElementSibling.hidden ? row.nextElementSibling : null;
        (next ? next.querySelector("select, input:not([type=hidden])") : addButton)?.focus();
        changed(root);
      });
    };

    body.querySelectorAll("[data-formset-row]").forEach(enhanceRow);

    root.addRow = (values = {}) => {
      const index = Number(total.value);
      const holder = document.createElement("tbody");
      holder.innerHTML = template.innerHTML.replaceAll("__prefix__", String(index)).trim();
      const row = holder.firstElementChild;
      body.appendChild(row);
      total.value = String(index + 1);
      enhanceRow(row);
      for (const [name, value] of Object.entries(values)) {
        const field = row.querySelector(`[name="${prefix}-${index}-${name}"]`);
        if (field) field.value = value;
      }
      row.querySelector("select, input:not([type=hidden]), textarea")?.focus();
      changed(root);
      return row;
    };
    if (addButton) {
      addButton.hidden = false;
      addButton.addEventListener("click", () => root.addRow());
    }
    root.querySelector(".no-js-only")?.remove();
  }

  // --- Toxin session form -----------------------------------------------------------------------
  function setupToxinForm(form) {
    const limitsEl = document.getElementById("dose-limits");
    const limits = limitsEl ? JSON.parse(limitsEl.textContent) : {};
    const product = form.querySelector("[data-product-picker]");
    const lot = form.querySelector("[data-lot-picker]");
    const dilution = form.querySelector("[data-dilution]");
    const perDose = form.querySelector("[data-units-per-dose]");
    const totalOut = form.querySelector("[data-map-total]");
    const warningsOut = form.querySelector("[data-dose-warnings]");
    const map = form.querySelector('[data-formset="injections"]');

    const number = (value) => {
      const n = Number.parseFloat(value);
      return Number.isFinite(n) ? n : null;
    };
    const fmt = (n) => (Math.round(n * 100) / 100).toString();

    function filterLots() {
      if (!product || !lot) return;
      for (const option of lot.options) {
        if (!option.value) continue;
        const match = option.dataset.product === product.value;
        option.hidden = !match;
        option.disabled = !match;
      }
      if (lot.selectedOptions[0]?.disabled) lot.value = "";
    }

    function update() {
      const selected = lot?.selectedOptions[0];
      const vial = number(selected?.dataset.vialUnits);
      const ml = number(dilution?.value);
      if (perDose) perDose.textContent = vial && ml ? `${fmt(vial / (ml * 10))} U` : "–";

      const rows = map ? [...map.querySelectorAll("[data-formset-row]")].filter((r) => !r.hidden) : [];
      let units = 0;
      let points = 0;
      const warnings = [];
      const limit = limits[product?.value] || {};
      const siteLimit = number(limit.site);
      for (const row of rows) {
        const u = number(row.querySelector("[data-units]")?.value);
        const p = number(row.querySelector("[data-points]")?.value) || 1;
        if (u === null) continue;
        units += u;
        points += p;
        if (siteLimit && u / p > siteLimit) {
          const muscle = row.querySelector('select[name$="-muscle"]');
          const side = row.querySelector('select[name$="-side"]');
          const name = muscle?.selectedOptions[0]?.textContent || "A muscle";
          warnings.push(`${name} (${side?.value || "?"}): ${fmt(u / p)} U per point is above the clinic's limit of ${fmt(siteLimit)} U per site.`);
        }
      }
      const sessionLimit = number(limit.session);
      if (sessionLimit && units > sessionLimit) {
        warnings.unshift(`${fmt(units)} U is above the clinic's limit of ${fmt(sessionLimit)} U of ${limit.label} per session.`);
      }
      if (totalOut) totalOut.textContent = product?.value ? `${fmt(units)} U of ${limit.label || product.value} in ${points} points` : `${fmt(units)} U`;
      if (warningsOut) {
        warningsOut.replaceChildren(...warnings.map((text) => {
          const p = document.createElement("p");
          p.className = "flash flash-warning";
          p.textContent = text;
          return p;
        }));
      }
    }

    product?.addEventListener("change", () => { filterLots(); update(); });
    lot?.addEventListener("change", update);
    form.addEventListener("input", update);
    form.addEventListener("change", update);
    form.addEventListener("formset:changed", update);

    // A therapist's recommendation becomes a row of the map.
    document.querySelectorAll("[data-add-injection]").forEach((button) => {
      button.hidden = false;
      button.addEventListener("click", () => {
        const values = { muscle: button.dataset.muscle, side: button.dataset.side };
        // Fill the first empty row of the map before adding one below the empty ones.
        const blank = map
          ? [...map.querySelectorAll("[data-formset-row]:not([hidden])")].find((row) => {
              const muscle = row.querySelector('select[name$="-muscle"]');
              const units = row.querySelector('input[name$="-units"]');
              return muscle && !muscle.value && !(units && units.value);
            })
          : null;
        if (blank) {
          for (const [name, value] of Object.entries(values)) {
            const field = blank.querySelector(`[name$="-${name}"]`);
            if (field) field.value = value;
          }
          blank.querySelector('input[name$="-units"]')?.focus();
        } else {
          map?.addRow?.(values);
        }
        update();
      });
    });

    filterLots();
    update();
  }

  // --- Sunnybrook: live scores (the server computes them again on saving) ------------------------
  function setupSunnybrook(form) {
    const weightsEl = document.getElementById("sunnybrook-weights");
    const weights = weightsEl ? JSON.parse(weightsEl.textContent) : {};
    const out = (key) => form.querySelector(`[data-score="${key}"]`);

    function sum(prefix) {
      let total = 0;
      let complete = true;
      const names = new Set([...form.querySelectorAll(`input[type=radio][name^="item_${prefix}"]`)].map((i) => i.name));
      for (const name of names) {
        const checked = form.querySelector(`input[name="${name}"]:checked`);
        if (!checked) { complete = false; continue; }
        const key = name.slice("item_".length);
        total += weights[key] ? Number(weights[key][checked.value]) : Number(checked.value);
      }
      return complete ? total : null;
    }

    function update() {
      const resting = sum("rest_");
      const voluntary = sum("voluntary_");
      const synkinesis = sum("synkinesis_");
      const show = (key, value) => { const el = out(key); if (el) el.textContent = value === null ? "–" : String(value); };
      show("resting_symmetry", resting === null ? null : resting * 5);
      show("voluntary_movement", voluntary === null ? null : voluntary * 4);
      show("synkinesis", synkinesis);
      show("composite", resting === null || voluntary === null || synkinesis === null ? null : voluntary * 4 - resting * 5 - synkinesis);
    }
    form.addEventListener("change", update);
    update();
  }

  // --- Confirmations (signing) -----------------------------------------------------------------
  function setupConfirm(form) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-formset]").forEach(setupFormset);
    document.querySelectorAll("[data-toxin-form]").forEach(setupToxinForm);
    document.querySelectorAll("[data-sunnybrook]").forEach(setupSunnybrook);
    document.querySelectorAll("form[data-confirm]").forEach(setupConfirm);
  });
})();

// Consultation form: "Clear" empties one grading, so that it is left out of the save.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-clear-grading]");
  if (!button) return;
  button.closest("[data-grading]")?.querySelectorAll("input[type=radio]").forEach((input) => {
    input.checked = false;
  });
});
