// A visitor's own ticket page: live over Socket.IO /ticket, with a slow poll when the link is down.
(function () {
  "use strict";
  const card = document.querySelector("[data-ticket-page]");
  const position = card.querySelector("[data-position]");
  const wait = card.querySelector("[data-wait]");
  const text = (name) => card.dataset["text" + name];
  let shownVersion = parseFloat(card.dataset.version) || 0;
  const retold = card.querySelector("[data-retold]");
  const upperLine = card.querySelector("[data-wait-upper]");
  const almost = card.querySelector("[data-almost]");
  let lastRetold = card.dataset.retoldAt || "";  // the re-telling this page has shown
  let almostShown = !almost.hidden;

  function waitText(state) {
    const minutes = state.expected_wait_minutes;
    // null: nobody on duty can say when (never shown as "no wait").
    if (minutes === null) return text("WaitUnknown");
    if (!minutes) return text("Soon");
    return text("Wait").replace("{n}", minutes);
  }

  // A gentle nudge where the browser allows it: a short vibration and a soft tone.
  function nudge() {
    if (navigator.vibrate) navigator.vibrate(200);
    try {
      const audio = new (window.AudioContext || window.webkitAudioContext)();
      const tone = audio.createOscillator(), gain = audio.createGain();
      tone.frequency.value = 660;
      gain.gain.setValueAtTime(0.08, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.6);
      tone.connect(gain).connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.6);
    } catch (e) { /* no sound allowed before a tap: the notice is enough */ }
  }

  function showNotices(state) {
    const waiting = state.status === "waiting";
    if (waiting && state.wait_retold_at && state.wait_retold_at !== lastRetold) {
      const time = new Date(state.wait_retold_at).toLocaleTimeString([], {hour: "2-digit", minute: "2-digit", hour12: false});
      retold.textContent = text("Retold").replace("{time}", time);
      retold.hidden = false;
      nudge();
    }
    if (state.wait_retold_at) lastRetold = state.wait_retold_at;
    if (!waiting) retold.hidden = true;
    const near = waiting && state.almost;
    almost.hidden = !near;
    if (near && !almostShown) nudge();
    almostShown = near;
  }

  function show(state) {
    if (state.version < shownVersion) return;
    shownVersion = state.version;
    wait.hidden = state.status !== "waiting";
    if (state.status !== "waiting") upperLine.hidden = true;
    if (state.status === "waiting") {
      position.textContent = state.ahead ? text("Ahead").replace("{n}", state.ahead) : text("Next");
      wait.textContent = waitText(state);
      // The range's upper bound on a line of its own (seed 002 §6.12: a range, not a promise).
      const upper = state.expected_wait_max_minutes, minutes = state.expected_wait_minutes;
      upperLine.hidden = !(minutes && upper && upper > minutes);
      if (!upperLine.hidden) upperLine.textContent = text("Upper").replace("{m}", upper);
    } else if (state.status === "called") {
      position.textContent = state.room ? text("Called").replace("{room}", state.room) : text("CalledDesk");
      if (navigator.vibrate) navigator.vibrate([300, 150, 300]);
    } else if (state.status === "done") {
      position.textContent = text("StatusDone");
    } else if (state.status !== "with_consultant" && state.status !== "with_doctor") {
      position.textContent = text("StatusOther");
    }
    showNotices(state);
    card.dataset.status = state.status;
  }

  const socket = io("/ticket", {auth: {token: card.dataset.token}, transports: ["websocket", "polling"]});
  socket.on("ticket", show);
  // Fallback: when the live link is down, look again every 30 seconds.
  setInterval(() => {
    if (socket.connected) return;
    fetch(card.dataset.stateUrl, {cache: "no-store"}).then((r) => r.ok ? r.json() : null).then((s) => s && show(s));
  }, 30000);
})();
