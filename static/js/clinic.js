// Small progressive enhancements. No inline scripts anywhere: everything lives here.
document.addEventListener("DOMContentLoaded", () => {
  // Dismiss flash messages after a while, but keep errors until the user acts.
  document.querySelectorAll(".flash:not(.flash-error)").forEach((el) => {
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
