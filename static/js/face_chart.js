// The face diagram beside a toxin session's injection map (templates/treatments/_face_diagram.html).
// The table is the record; the diagram is another way to fill it and a picture of it:
// - clicking (or Enter/Space on) a muscle region adds its row for that side, or moves that row's
//   point there (one point per row), and puts the cursor in the row's units;
// - each point shows its row's units; editing or removing a row in the table updates the points;
// - dragging a point moves it (its row's side follows the half of the face, its muscle the region
//   it is dropped on); a selected point's row can be removed;
// - the last session's points show faintly, and "Repeat last map" copies its rows here.
// Coordinates are stored normalised (0..1) on the drawing: x from the viewer's left (the patient's
// right), y from the top. Progressive enhancement: without this file the table works alone and
// "Repeat last map" reloads the form with the last session's rows.
(() => {
  "use strict";

  const SVG = "http://www.w3.org/2000/svg";
  const clamp = (v) => Math.min(1, Math.max(0, v));
  const round3 = (v) => (Math.round(v * 1000) / 1000).toFixed(3);
  const units = (value) => {
    const n = Number.parseFloat(value);
    return Number.isFinite(n) ? `${Math.round(n * 100) / 100} U` : "? U";
  };

  function setup(figure) {
    const form = figure.closest("form");
    const map = form?.querySelector('[data-formset="injections"]');
    if (!map || typeof map.addRow !== "function") return;
    const svg = figure.querySelector("svg");
    const layer = svg.querySelector("[data-markers]");
    const ghosts = svg.querySelector("[data-ghosts]");
    const width = Number(figure.dataset.width);
    const height = Number(figure.dataset.height);
    const tools = document.querySelector("[data-face-tools]");
    const selectedOut = document.querySelector("[data-face-selected]");
    const removeButton = document.querySelector("[data-face-remove]");
    const previousEl = document.getElementById("face-previous");
    const previous = previousEl ? JSON.parse(previousEl.textContent) || [] : [];
    let selected = null;
    if (tools) tools.hidden = false;

    const field = (row, name) => row.querySelector(`[name$="-${name}"]`);
    const rows = () => [...map.querySelectorAll("[data-formset-row]")].filter((row) => !row.hidden);
    const changed = () => map.dispatchEvent(new Event("formset:changed", { bubbles: true }));
    const rowFor = (muscle, side, except = null) =>
      rows().find((row) => row !== except && field(row, "muscle")?.value === muscle && field(row, "side")?.value === side);
    const blankRow = () => rows().find((row) => !field(row, "muscle")?.value && !field(row, "units")?.value);
    const muscleLabel = (row) => field(row, "muscle")?.selectedOptions[0]?.textContent || "";

    // Screen point -> normalised diagram point, through the element's own transforms.
    function toDiagram(clientX, clientY) {
      const point = svg.createSVGPoint();
      point.x = clientX;
      point.y = clientY;
      const user = point.matrixTransform(svg.getScreenCTM().inverse());
      return { x: clamp(user.x / width), y: clamp(user.y / height) };
    }
    function regionCentre(region) {
      const box = region.getBBox();
      const point = svg.createSVGPoint();
      point.x = box.x + box.width / 2;
      point.y = box.y + box.height / 2;
      const screen = point.matrixTransform(region.getScreenCTM());
      return toDiagram(screen.x, screen.y);
    }
    // A side's point stays on its half of the face (the midline belongs to both).
    const onHalf = (side, x) => (side === "right" ? Math.min(x, 0.5) : Math.max(x, 0.5));

    function setRow(row, values) {
      for (const [name, value] of Object.entries(values)) {
        const input = field(row, name);
        if (input && value !== undefined && value !== null) input.value = String(value);
      }
    }

    // Add the row for (muscle, side) with its point, or move the existing row's point.
    function place(muscle, side, point, extra = {}) {
      const values = { muscle, side, diagram_x: round3(onHalf(side, point.x)), diagram_y: round3(point.y), ...extra };
      let row = rowFor(muscle, side) || blankRow();
      if (row) setRow(row, values);
      else row = map.addRow(values);
      return row;
    }

    function select(row) {
      selected = row;
      rows().forEach((r) => r.classList.toggle("row-selected", r === row));
      if (selectedOut) {
        selectedOut.textContent = row
          ? `Selected: ${muscleLabel(row)} (${field(row, "side")?.value}), ${units(field(row, "units")?.value)}`
          : "";
      }
      if (removeButton) removeButton.hidden = !row;
      render();
    }

    function marker(row) {
      const x = Number.parseFloat(field(row, "diagram_x")?.value);
      const y = Number.parseFloat(field(row, "diagram_y")?.value);
      if (!Number.isFinite(x) || !Number.isFinite(y)) return null;
      const g = document.createElementNS(SVG, "g");
      g.setAttribute("class", `face-marker${row === selected ? " selected" : ""}`);
      g.dataset.marker = "";
      g.dataset.muscle = field(row, "muscle")?.value || "";
      g.dataset.side = field(row, "side")?.value || "";
      g.setAttribute("transform", `translate(${x * width} ${y * height})`);
      const circle = document.createElementNS(SVG, "circle");
      circle.setAttribute("r", "7");
      const text = document.createElementNS(SVG, "text");
      text.setAttribute("y", "-11");
      text.setAttribute("text-anchor", "middle");
      const pts = Number.parseInt(field(row, "points")?.value || "1", 10);
      text.textContent = units(field(row, "units")?.value) + (pts > 1 ? ` ×${pts}` : "");
      const title = document.createElementNS(SVG, "title");
      title.textContent = `${muscleLabel(row)} (${g.dataset.side}): ${text.textContent}`;
      g.append(circle, text, title);
      g.addEventListener("pointerdown", (event) => drag(event, g, row));
      return g;
    }

    function render() {
      layer.replaceChildren(...rows().map(marker).filter(Boolean));
      if (selected && (selected.hidden || !selected.isConnected)) select(null);
    }

    function renderGhosts() {
      const show = document.querySelector("[data-show-previous]");
      ghosts.replaceChildren();
      if (show && !show.checked) return;
      for (const row of previous) {
        if (row.diagram_x === null || row.diagram_y === null) continue;
        const g = document.createElementNS(SVG, "g");
        g.setAttribute("class", "face-ghost");
        g.setAttribute("transform", `translate(${Number(row.diagram_x) * width} ${Number(row.diagram_y) * height})`);
        const circle = document.createElementNS(SVG, "circle");
        circle.setAttribute("r", "7");
        const text = document.createElementNS(SVG, "text");
        text.setAttribute("y", "20");
        text.setAttribute("text-anchor", "middle");
        text.textContent = units(row.units);
        g.append(circle, text);
        ghosts.append(g);
      }
    }

    // Dragging a point moves its row's point; a short press selects it.
    function drag(event, g, row) {
      event.preventDefault();
      event.stopPropagation();
      const start = { x: event.clientX, y: event.clientY };
      let moved = false;
      g.setPointerCapture(event.pointerId);
      const move = (e) => {
        if (Math.hypot(e.clientX - start.x, e.clientY - start.y) > 3) moved = true;
        if (!moved) return;
        const p = toDiagram(e.clientX, e.clientY);
        g.setAttribute("transform", `translate(${p.x * width} ${p.y * height})`);
      };
      const up = (e) => {
        g.removeEventListener("pointermove", move);
        g.removeEventListener("pointerup", up);
        g.removeEventListener("pointercancel", up);
        if (!moved) {
          select(row === selected ? null : row);
          return;
        }
        const p = toDiagram(e.clientX, e.clientY);
        const side = p.x < 0.5 ? "right" : p.x > 0.5 ? "left" : field(row, "side").value;
        const over = document.elementsFromPoint(e.clientX, e.clientY).find((el) => el.matches?.("[data-region]"));
        const muscle = over && over.dataset.side === side ? over.dataset.muscle : field(row, "muscle").value;
        if (rowFor(muscle, side, row)) {
          say(`${muscle.replaceAll("_", " ")}, ${side} is already a row of the map: change that row instead.`);
        } else {
          setRow(row, { muscle, side, diagram_x: round3(onHalf(side, p.x)), diagram_y: round3(p.y) });
        }
        changed();
        select(row);
      };
      g.addEventListener("pointermove", move);
      g.addEventListener("pointerup", up);
      g.addEventListener("pointercancel", up);
    }

    function say(text) {
      if (selectedOut) selectedOut.textContent = text;
    }

    function addFromRegion(region, point) {
      const row = place(region.dataset.muscle, region.dataset.side, point);
      changed();
      select(row);
      field(row, "units")?.focus();
    }

    svg.querySelectorAll("[data-region]").forEach((region) => {
      region.addEventListener("click", (event) => addFromRegion(region, toDiagram(event.clientX, event.clientY)));
      region.addEventListener("keydown", (event) => {
        if (event.key !== "Enter" && event.key !== " ") return;
        event.preventDefault();
        addFromRegion(region, regionCentre(region));
      });
    });

    removeButton?.addEventListener("click", () => {
      if (!selected) return;
      selected.querySelector("[data-formset-remove]")?.click();
      select(null);
    });

    // A row whose side is changed in the table takes its point to the mirror image.
    map.addEventListener("change", (event) => {
      const input = event.target;
      if (!input.matches?.('select[name$="-side"]')) return;
      const row = input.closest("[data-formset-row]");
      const x = field(row, "diagram_x");
      const value = Number.parseFloat(x?.value);
      if (!Number.isFinite(value)) return;
      if ((input.value === "right" && value > 0.5) || (input.value === "left" && value < 0.5)) {
        x.value = round3(1 - value);
      }
    });

    // "Repeat last map" copies the last session's rows (points included) into this form.
    document.querySelectorAll("[data-repeat-map]").forEach((link) => {
      if (!previous.length) return;
      link.addEventListener("click", (event) => {
        event.preventDefault();
        for (const row of previous) {
          const values = { units: row.units, points: row.points };
          if (row.diagram_x !== null && row.diagram_y !== null) {
            place(row.muscle, row.side, { x: Number(row.diagram_x), y: Number(row.diagram_y) }, values);
          } else {
            const target = rowFor(row.muscle, row.side) || blankRow();
            if (target) setRow(target, { muscle: row.muscle, side: row.side, ...values });
            else map.addRow({ muscle: row.muscle, side: row.side, ...values });
          }
        }
        changed();
        say(`Copied ${previous.length} row${previous.length === 1 ? "" : "s"} from the last session.`);
        rows()[0]?.querySelector('input[name$="-units"]')?.focus();
      });
    });

    document.querySelector("[data-show-previous]")?.addEventListener("change", renderGhosts);
    document.querySelector("[data-affected-control]")?.addEventListener("change", (event) => {
      const side = event.target.value;
      svg.querySelectorAll("[data-affected-half]").forEach((rect) => {
        rect.toggleAttribute("hidden", !(side === "bilateral" || side === rect.dataset.affectedHalf));
      });
    });

    form.addEventListener("input", render);
    form.addEventListener("change", render);
    map.addEventListener("formset:changed", render);
    renderGhosts();
    render();
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll(".face-diagram-editable[data-face-diagram]").forEach(setup);
  });
})();
