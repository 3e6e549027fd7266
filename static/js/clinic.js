// Small progressive enhancements. No inline scripts anywhere: everything lives here.
document.addEventListener("DOMContentLoaded", () => {
  // Dismiss flash messages after a while, but keep errors until the user acts.
  document.querySelectorAll(".flash:not(.flash-error)").forEach((el) => {
    setTimeout(() => el.classList.add("flash-hide"), 6000);
  });
});
