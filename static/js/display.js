// The waiting-room board: live over Socket.IO /display, with a chime and a spoken call.
(function () {
  "use strict";
  const frame = document.querySelector("[data-board]");
  const live = document.getElementById("board-live");
  const reconnecting = frame.querySelector("[data-reconnecting]");
  const enableSound = frame.querySelector("[data-enable-sound]");
  const HIGHLIGHT_MS = 8000;
  const RECONNECTING_AFTER_MS = 3000;
  let shownVersion = parseFloat(frame.dataset.version) || 0;
  let highlight = null; // {ticket, until}

  // --- clock -------------------------------------------------------------------------
  const clock = frame.querySelector("[data-clock]");
  // The clinic's time, whatever zone the TV itself is set to.
  const clockFormat = new Intl.DateTimeFormat(frame.dataset.lang === "en" ? "en-GB" : "zh-CN",
    {hour: "2-digit", minute: "2-digit", timeZone: frame.dataset.timezone || undefined});
  function tick() {
    const now = new Date();
    clock.textContent = clockFormat.format(now);
    clock.dateTime = now.toISOString();
  }
  tick();
  setInterval(tick, 1000);

  // --- board state ---------------------------------------------------------------------
  // Each line's colour comes as data (the CSP allows no inline style); set through the CSSOM.
  function paintLines() {
    live.querySelectorAll(".board-line[data-colour]").forEach((el) => {
      if (/^#[0-9a-fA-F]{6}$/.test(el.dataset.colour)) el.style.setProperty("--line-colour", el.dataset.colour);
    });
  }
  paintLines();
  function applyHighlight() {
    live.querySelectorAll(".call.is-new").forEach((el) => el.classList.remove("is-new"));
    if (!highlight || Date.now() > highlight.until) return;
    const el = live.querySelector('.call[data-ticket="' + CSS.escape(highlight.ticket) + '"]');
    if (el) el.classList.add("is-new");
  }

  function showBoard(message) {
    // A message older than what is shown (e.g. from another server process) is ignored.
    if (message.version < shownVersion) return;
    shownVersion = message.version;
    live.innerHTML = message.html;
    paintLines();
    applyHighlight();
  }

  // --- sound: chime, then the spoken call; one announcement at a time -------------------
  const chime = new Audio(frame.dataset.chime);
  chime.preload = "auto";
  const announcements = [];
  let speaking = false;
  let soundBlocked = false;

  function finishAnnouncement() {
    speaking = false;
    playNext();
  }

  function speak(call) {
    if (!call.speech || !("speechSynthesis" in window)) return finishAnnouncement();
    const utterance = new SpeechSynthesisUtterance(call.speech);
    utterance.lang = call.speech_lang === "en" ? "en-GB" : "zh-CN";
    utterance.rate = 0.9;
    // Some engines never fire "end"; never let one stuck call hold the queue.
    const guard = setTimeout(finishAnnouncement, 12000);
    utterance.onend = utterance.onerror = () => { clearTimeout(guard); finishAnnouncement(); };
    window.speechSynthesis.speak(utterance);
  }

  function playNext() {
    if (speaking || soundBlocked || !announcements.length) return;
    const call = announcements.shift();
    speaking = true;
    chime.currentTime = 0;
    chime.play().then(() => {
      chime.onended = () => speak(call);
    }).catch(() => {
      // Autoplay refused until someone touches the screen once.
      speaking = false;
      soundBlocked = true;
      announcements.unshift(call);
      enableSound.hidden = false;
    });
  }

  enableSound.addEventListener("click", () => {
    soundBlocked = false;
    enableSound.hidden = true;
    playNext();
  });

  function announce(call) {
    highlight = {ticket: call.ticket, until: Date.now() + HIGHLIGHT_MS};
    applyHighlight();
    setTimeout(applyHighlight, HIGHLIGHT_MS + 50);
    if (frame.dataset.sound === "on") {
      announcements.push(call);
      playNext();
    }
  }

  // --- connection ----------------------------------------------------------------------
  const socket = io("/display", {
    auth: {line: frame.dataset.line, lang: frame.dataset.lang},
    transports: ["websocket", "polling"],
    reconnectionDelayMax: 5000,
  });
  let lostTimer = null;
  socket.on("connect", () => {
    clearTimeout(lostTimer);
    lostTimer = null;
    reconnecting.hidden = true;
    frame.classList.remove("is-offline");
    frame.dataset.connected = "1";
  });
  function linkLost() {
    frame.dataset.connected = "0";
    if (lostTimer) return;
    lostTimer = setTimeout(() => {
      reconnecting.hidden = false;
      frame.classList.add("is-offline");
    }, RECONNECTING_AFTER_MS);
  }
  socket.on("disconnect", linkLost);
  socket.on("connect_error", linkLost);
  socket.on("board", showBoard);
  socket.on("call", announce);
  // Waits change with time too: ask for the whole board again every minute.
  setInterval(() => { if (socket.connected) socket.emit("sync"); }, 60000 + Math.random() * 5000);
})();
