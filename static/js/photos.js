// Photo sets: guided capture and uploads with progress, tiles that refresh while the worker
// processes them, arrow keys through dates. Progressive enhancement: without this file the
// pages still show every photograph and link.
(() => {
  "use strict";

  const STANDARD = ["rest", "brow_raise", "gentle_eye_closure", "tight_eye_closure", "smile", "snarl", "lip_pucker", "lower_teeth"];
  const slots = document.querySelector(".photo-slots");

  // --- One file, one request, with progress -------------------------------------------------------
  function send(file, view, label, progress, message) {
    return new Promise((resolve) => {
      const form = new FormData();
      form.append("file", file, file.name);
      form.append("view", view);
      if (label) form.append("label", label);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", slots.dataset.uploadUrl);
      xhr.setRequestHeader("X-CSRFToken", slots.dataset.csrf);
      xhr.setRequestHeader("Accept", "application/json");
      progress.hidden = false;
      progress.value = 0;
      message.textContent = `Uploading ${file.name}…`;
      xhr.upload.addEventListener("progress", (e) => {
        if (e.lengthComputable) progress.value = Math.round((e.loaded / e.total) * 100);
      });
      xhr.addEventListener("load", () => {
        let body = {};
        try { body = JSON.parse(xhr.responseText); } catch (e) { body = {}; }
        if (xhr.status === 202) {
          progress.value = 100;
          message.textContent = `${file.name}: uploaded, processing…`;
          addTile(view, body.tile, message, file.name);
          resolve(true);
        } else {
          const fields = body.fields && body.fields.file ? body.fields.file.join(" ") : "";
          message.textContent = `${file.name}: ${fields || body.detail || "the upload failed"}`;
          message.classList.add("photo-error");
          progress.hidden = true;
          resolve(false);
        }
      });
      xhr.addEventListener("error", () => {
        message.textContent = `${file.name}: the connection failed; try again.`;
        message.classList.add("photo-error");
        resolve(false);
      });
      xhr.send(form);
    });
  }

  function addTile(view, url, message, name) {
    const slot = document.getElementById(`slot-${view}`);
    const holder = slot.querySelector(".photo-items");
    const placeholder = document.createElement("div");
    holder.appendChild(placeholder);
    poll(placeholder, url, message, name);
  }

  function poll(element, url, message, name) {
    fetch(url, { headers: { Accept: "text/html" }, credentials: "same-origin" })
      .then((r) => r.text())
      .then((html) => {
        const box = document.createElement("div");
        box.innerHTML = html.trim();
        const tile = box.firstElementChild;
        element.replaceWith(tile);
        if (tile.dataset.status === "pending") {
          setTimeout(() => poll(tile, url, message, name), 1000);
        } else if (message) {
          message.textContent = tile.dataset.status === "ready" ? `${name}: ready.` : `${name}: ${tile.textContent.trim()}`;
          countDone();
        }
      });
  }

  function countDone() {
    const done = document.getElementById("views-done");
    if (!done) return;
    done.textContent = STANDARD.filter((v) => {
      const slot = document.getElementById(`slot-${v}`);
      return slot && slot.querySelector('.photo-ready img');
    }).length;
  }

  if (slots) {
    // Tiles still processing when the page was rendered.
    document.querySelectorAll(".photo-tile[data-poll]").forEach((tile) => setTimeout(() => poll(tile, tile.dataset.poll), 1000));

    // Files chosen before this script ran (a slow connection) are uploaded as soon as it runs:
    // their change event fired with nobody listening.
    slots.querySelectorAll(".capture-input").forEach((input) => {
      const upload = async () => {
        const capture = input.closest(".capture");
        const label = capture.querySelector("[data-extra-label]");
        for (const file of input.files) {
          await send(file, input.dataset.view, label ? label.value : "", capture.querySelector(".upload-progress"), capture.querySelector(".upload-message"));
        }
        input.value = "";
        // Guided flow: on to the next view.
        const next = input.closest(".photo-slot").nextElementSibling;
        if (next) {
          next.scrollIntoView({ block: "start" });
          next.querySelector("label.btn")?.focus();
        }
      };
      input.addEventListener("change", upload);
      if (input.files.length) upload();
    });

    const bulk = document.querySelector("[data-bulk]");
    if (bulk) {
      const uploadAll = async () => {
        const queue = document.getElementById("upload-queue");
        const taken = { image: new Set(), video: new Set() };
        STANDARD.forEach((v) => {
          const slot = document.getElementById(`slot-${v}`);
          if (slot.dataset.hasImage) taken.image.add(v);
          if (slot.dataset.hasVideo) taken.video.add(v);
        });
        const jobs = [...bulk.files].map((file) => {
          const kind = file.type.startsWith("video/") ? "video" : "image";
          const view = STANDARD.find((v) => !taken[kind].has(v)) || "extra";
          if (view !== "extra") taken[kind].add(view);
          const row = document.createElement("li");
          row.innerHTML = '<span class="upload-name"></span> <progress max="100" value="0"></progress> <span class="upload-message" role="status"></span>';
          row.querySelector(".upload-name").textContent = `${file.name} → ${document.querySelector(`#slot-${view} h3`)?.textContent.replace(/^\d+\.\s*/, "") || "extra view"}`;
          row.querySelector("progress").setAttribute("aria-label", `Upload of ${file.name}`);
          queue.appendChild(row);
          return { file, view, row };
        });
        for (const job of jobs) {
          await send(job.file, job.view, job.view === "extra" ? job.file.name : "", job.row.querySelector("progress"), job.row.querySelector(".upload-message"));
        }
        bulk.value = "";
      };
      bulk.addEventListener("change", uploadAll);
      if (bulk.files.length) uploadAll();
    }
  }

  // --- Arrow keys through dates ------------------------------------------------------------------
  if (document.querySelector("[data-keys]")) {
    document.addEventListener("keydown", (e) => {
      if (e.target.closest("input, select, textarea, video") || e.altKey || e.ctrlKey || e.metaKey) return;
      if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
      const link = document.querySelector(`[data-key="${e.shiftKey ? "shift+" : ""}${e.key}"]`);
      if (link) {
        e.preventDefault();
        window.location.assign(link.href);
      }
    });
  }

  document.querySelectorAll("[data-autosubmit]").forEach((select) => {
    select.addEventListener("change", () => select.form.submit());
  });
})();
