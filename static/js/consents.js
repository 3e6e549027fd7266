// Signature pads for consent forms: draw with a finger, pen or mouse (pointer events), or, from
// the keyboard, choose "Type my name instead" and tick the confirmation. On submit a drawn
// signature goes to the hidden field as a PNG data URL. No inline script (the CSP forbids it).
(function () {
  "use strict";

  function setUp(pad) {
    var form = pad.closest("form");
    var canvas = pad.querySelector("[data-signature-canvas]");
    var hidden = pad.querySelector("input[type=hidden]");
    var draw = pad.querySelector("[data-signature-draw]");
    var typed = pad.querySelector("[data-signature-typed]");
    var radios = pad.querySelectorAll("input[type=radio]");
    var ctx = canvas.getContext("2d");
    var drawing = false;
    var inked = false;
    var last = null;

    ctx.lineWidth = 2.5;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.strokeStyle = "#111";

    function method() {
      var checked = pad.querySelector("input[type=radio]:checked");
      return checked ? checked.value : "drawn";
    }
    function show() {
      var drawn = method() === "drawn";
      draw.hidden = !drawn;
      typed.hidden = drawn;
    }
    function point(event) {
      var rect = canvas.getBoundingClientRect();
      return {
        x: ((event.clientX - rect.left) * canvas.width) / rect.width,
        y: ((event.clientY - rect.top) * canvas.height) / rect.height,
      };
    }
    canvas.addEventListener("pointerdown", function (event) {
      event.preventDefault();
      canvas.setPointerCapture(event.pointerId);
      drawing = true;
      last = point(event);
      ctx.beginPath();
      ctx.arc(last.x, last.y, ctx.lineWidth / 2, 0, Math.PI * 2);
      ctx.fillStyle = ctx.strokeStyle;
      ctx.fill();
      inked = true;
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!drawing) return;
      event.preventDefault();
      var p = point(event);
      ctx.beginPath();
      ctx.moveTo(last.x, last.y);
      ctx.lineTo(p.x, p.y);
      ctx.stroke();
      last = p;
      inked = true;
    });
    ["pointerup", "pointercancel", "pointerleave"].forEach(function (name) {
      canvas.addEventListener(name, function () {
        drawing = false;
      });
    });
    pad.querySelector("[data-signature-clear]").addEventListener("click", function () {
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      inked = false;
      hidden.value = "";
    });
    radios.forEach(function (radio) {
      radio.addEventListener("change", show);
    });
    form.addEventListener("submit", function () {
      hidden.value = method() === "drawn" && inked ? canvas.toDataURL("image/png") : "";
    });
    show();
  }

  document.querySelectorAll("[data-signature-pad]").forEach(setUp);
})();
