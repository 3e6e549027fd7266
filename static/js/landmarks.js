// Landmarks on a photograph: drag a point, or focus it and move it with the arrow keys (Shift:
// ten times further), then Enter; the corrected point is posted and the page shows the new
// measurements.
(function () {
  "use strict";

  function post(svg, circle) {
    var status = svg.closest("figure").querySelector(".landmark-status");
    var body = new FormData();
    body.append("name", circle.dataset.name);
    body.append("x", circle.getAttribute("cx"));
    body.append("y", circle.getAttribute("cy"));
    status.textContent = "Saving…";
    fetch(svg.dataset.url, {
      method: "POST",
      body: body,
      headers: { "X-CSRFToken": svg.dataset.csrf, Accept: "application/json" },
      credentials: "same-origin",
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) {
          status.textContent = data.detail || "The point could not be moved.";
          return;
        }
        status.textContent = "Saved; measuring again…";
        window.location.reload();
      });
    });
  }

  function toSvg(svg, event) {
    var point = svg.createSVGPoint();
    point.x = event.clientX;
    point.y = event.clientY;
    var local = point.matrixTransform(svg.getScreenCTM().inverse());
    var width = parseFloat(svg.dataset.width), height = parseFloat(svg.dataset.height);
    return [Math.min(width, Math.max(0, local.x)), Math.min(height, Math.max(0, local.y))];
  }

  document.querySelectorAll("svg.landmark-overlay").forEach(function (svg) {
    // Sizes follow the part of the photograph shown (the viewBox is cropped to the face).
    var shown = svg.viewBox.baseVal.width || parseFloat(svg.dataset.width);
    var step = Math.max(0.5, shown / 400);
    svg.querySelectorAll("circle.landmark").forEach(function (circle) {
      circle.setAttribute("r", Math.max(1, shown / 140).toFixed(1));
    });
    svg.querySelectorAll("circle.landmark[tabindex]").forEach(function (circle) {
      var dragging = false, moved = false;
      circle.addEventListener("pointerdown", function (event) {
        dragging = true;
        moved = false;
        circle.setPointerCapture(event.pointerId);
        event.preventDefault();
      });
      circle.addEventListener("pointermove", function (event) {
        if (!dragging) return;
        var xy = toSvg(svg, event);
        circle.setAttribute("cx", xy[0].toFixed(1));
        circle.setAttribute("cy", xy[1].toFixed(1));
        moved = true;
      });
      circle.addEventListener("pointerup", function () {
        if (dragging && moved) post(svg, circle);
        dragging = false;
      });
      circle.addEventListener("keydown", function (event) {
        var dx = 0, dy = 0, by = event.shiftKey ? step * 10 : step;
        if (event.key === "ArrowLeft") dx = -by;
        else if (event.key === "ArrowRight") dx = by;
        else if (event.key === "ArrowUp") dy = -by;
        else if (event.key === "ArrowDown") dy = by;
        else if (event.key === "Enter") { post(svg, circle); event.preventDefault(); return; }
        else return;
        event.preventDefault();
        circle.setAttribute("cx", (parseFloat(circle.getAttribute("cx")) + dx).toFixed(1));
        circle.setAttribute("cy", (parseFloat(circle.getAttribute("cy")) + dy).toFixed(1));
        circle.classList.add("landmark-moved");
      });
    });
  });
})();
