// The lobby tablet: idle reset, camera scanning, and nothing of a visitor left behind.
(function () {
  "use strict";
  const frame = document.querySelector("[data-kiosk]");
  const startUrl = frame.dataset.startUrl;
  const idleSeconds = Math.max(5, parseInt(frame.dataset.idleSeconds, 10) || 90);
  const COUNTDOWN = Math.min(10, Math.max(3, Math.floor(idleSeconds / 3)));
  const overlay = frame.querySelector("[data-idle-overlay]");
  const count = frame.querySelector("[data-idle-count]");

  // Leaving the flow replaces the history entry: "back" never returns to a visitor's screen.
  function resetKiosk() {
    stopCamera();
    window.location.replace(startUrl);
  }
  // Changing language mid-step keeps the step and what was typed: the step's form goes to
  // /kiosk/relang, which shows the same step, filled in, in the other language.
  document.addEventListener("click", (event) => {
    const lang = event.target.closest(".lang-switch a[data-lang]");
    const step = frame.querySelector("#kiosk-panel form[data-step]");
    if (!lang || !step) return;
    event.preventDefault();
    const relang = document.createElement("form");
    relang.method = "post";
    relang.action = frame.dataset.relangUrl;
    relang.hidden = true;
    const add = (name, value) => {
      const input = document.createElement("input");
      input.type = "hidden"; input.name = name; input.value = value;
      relang.appendChild(input);
    };
    new FormData(step).forEach((value, name) => { if (typeof value === "string") add(name, value); });
    add("step", step.dataset.step);
    add("lang", lang.dataset.lang);
    add("csrf_token", JSON.parse(frame.getAttribute("hx-headers"))["X-CSRFToken"]);
    document.body.appendChild(relang);
    stopCamera();
    relang.submit();
  });
  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-print]")) window.print();
    const link = event.target.closest("[data-reset]");
    if (link) { event.preventDefault(); resetKiosk(); }
  });

  // --- idle reset ---------------------------------------------------------------------
  let idleTimer = null, countdownTimer = null, remaining = 0;
  function atStart() { return !!frame.querySelector(".kiosk-start"); }
  function armIdle() {
    clearTimeout(idleTimer);
    clearInterval(countdownTimer);
    overlay.hidden = true;
    idleTimer = setTimeout(startCountdown, (idleSeconds - COUNTDOWN) * 1000);
  }
  function startCountdown() {
    if (atStart()) { armIdle(); return; }
    remaining = COUNTDOWN;
    count.textContent = remaining;
    overlay.hidden = false;
    countdownTimer = setInterval(() => {
      remaining -= 1;
      count.textContent = remaining;
      if (remaining <= 0) { clearInterval(countdownTimer); resetKiosk(); }
    }, 1000);
  }
  ["pointerdown", "keydown", "input", "touchstart"].forEach((type) =>
    document.addEventListener(type, (event) => {
      if (!overlay.hidden && !event.target.closest("[data-idle-continue]")) return;
      armIdle();
    }, {passive: true}));
  frame.querySelector("[data-idle-continue]").addEventListener("click", armIdle);
  document.body.addEventListener("htmx:afterSwap", () => { armIdle(); setUpPanel(); showTheNewStep(); });
  // A new step starts at its top (a ticket after a long questionnaire, say); a step sent back with
  // mistakes shows the first of them.
  function showTheNewStep() {
    const mistake = document.querySelector("#kiosk-panel .field-error");
    if (mistake) mistake.scrollIntoView({block: "center"});
    else window.scrollTo(0, 0);
  }
  // A page restored from the back/forward cache must not show what was typed.
  window.addEventListener("pageshow", (event) => { if (event.persisted) resetKiosk(); });

  // --- scanning --------------------------------------------------------------------------
  let stream = null, scanLoop = null;
  function stopCamera() {
    if (scanLoop) { clearTimeout(scanLoop); scanLoop = null; }
    if (stream) { stream.getTracks().forEach((t) => t.stop()); stream = null; }
  }
  function submitScan(url, body) {
    stopCamera();
    htmx.ajax("POST", url, {source: "#kiosk-panel", target: "#kiosk-panel", values: body});
  }
  // No camera, no permission, or a prompt nobody answers: say so, and lead to the typed code.
  function noCamera(box, message, focusTyping) {
    stopCamera();
    const status = box.querySelector("[data-scan-status]");
    box.querySelector("[data-scan-start]").hidden = true;
    box.querySelector("[data-scan-video]").hidden = true;
    box.querySelector("[data-camera-hint]").hidden = true;
    status.hidden = false;
    status.textContent = message;
    status.classList.add("scan-failed");
    box.dataset.cameraState = "none";
    const phone = frame.querySelector(".typed-box input[name=phone]");
    if (focusTyping && phone) phone.focus();
  }
  async function startCamera(box) {
    const video = box.querySelector("[data-scan-video]");
    const status = box.querySelector("[data-scan-status]");
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      return noCamera(box, box.dataset.noCamera, true);
    }
    status.hidden = false;
    box.dataset.cameraState = "asking";
    const patience = new Promise((resolve, reject) => setTimeout(() => reject(new Error("timeout")), 10000));
    try {
      stream = await Promise.race([
        navigator.mediaDevices.getUserMedia({video: {facingMode: "user"}, audio: false}), patience]);
    } catch (err) {
      const denied = err && (err.name === "NotAllowedError" || err.name === "SecurityError");
      return noCamera(box, denied ? box.dataset.cameraDenied : box.dataset.noCamera, true);
    }
    box.dataset.cameraState = "on";
    video.srcObject = stream;
    video.hidden = false;
    status.hidden = false;
    await video.play();
    const detector = ("BarcodeDetector" in window) ? new window.BarcodeDetector({formats: ["qr_code"]}) : null;
    const canvas = document.createElement("canvas");
    const look = async () => {
      if (!stream) return;
      if (detector) {
        const codes = await detector.detect(video).catch(() => []);
        if (codes.length) return submitScan(box.dataset.scanUrl, {code: codes[0].rawValue});
        scanLoop = setTimeout(look, 250);
      } else {
        // No BarcodeDetector here: the server decodes a frame twice a second.
        canvas.width = video.videoWidth; canvas.height = video.videoHeight;
        canvas.getContext("2d").drawImage(video, 0, 0);
        canvas.toBlob((blob) => {
          const data = new FormData();
          data.append("frame", blob, "frame.jpg");
          fetch(box.dataset.scanImageUrl, {method: "POST", body: data,
            headers: {"X-CSRFToken": JSON.parse(frame.getAttribute("hx-headers"))["X-CSRFToken"], "HX-Request": "true"}})
            .then((r) => r.status === 204 ? null : r.text())
            .then((html) => {
              if (html === null) { scanLoop = setTimeout(look, 500); return; }
              stopCamera();
              document.getElementById("kiosk-panel").innerHTML = html;
              htmx.process(document.getElementById("kiosk-panel"));
              armIdle(); setUpPanel();
            });
        }, "image/jpeg", 0.8);
      }
    };
    look();
  }
  function setUpPanel() {
    const box = frame.querySelector("[data-scanner]");
    if (!box) { stopCamera(); return; }
    box.querySelector("[data-scan-start]").addEventListener("click", () => startCamera(box));
    // A tablet with no camera at all never offers one.
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) {
      noCamera(box, box.dataset.noCamera, false);
      return;
    }
    navigator.mediaDevices.enumerateDevices().then((devices) => {
      if (!devices.some((d) => d.kind === "videoinput")) noCamera(box, box.dataset.noCamera, false);
    }).catch(() => {});
  }

  // A USB or Bluetooth scanner "types" the code very fast and ends with Enter. Collect such
  // keystrokes when no field has the focus (no on-screen keyboard pops up for it).
  let wedge = "", wedgeAt = 0;
  document.addEventListener("keydown", (event) => {
    const box = frame.querySelector("[data-scanner]");
    const typing = event.target.closest && event.target.closest("input, textarea, select");
    if (!box || typing) return;
    const now = Date.now();
    if (now - wedgeAt > 100) wedge = "";
    wedgeAt = now;
    if (event.key === "Enter") {
      if (wedge.length >= 6) submitScan(box.dataset.scanUrl, {code: wedge});
      wedge = "";
    } else if (event.key.length === 1) {
      wedge += event.key;
    }
  });

  armIdle();
  setUpPanel();
})();
