// A visitor's own ticket page: live over Socket.IO /ticket, with a slow poll when the link is down.
(function () {
  "use strict";
  const card = document.querySelector("[data-ticket-page]");
  const position = card.querySelector("[data-position]");
  const wait = card.querySelector("[data-wait]");
  const text = (name) => card.dataset["text" + name];
  let shownVersion = parseFloat(card.dataset.version) || 0;

  function show(state) {
    if (state.version < shownVersion) return;
    shownVersion = state.version;
    wait.hidden = state.status !== "waiting";
    if (state.status === "waiting") {
      position.textContent = state.ahead ? text("Ahead").replace("{n}", state.ahead) : text("Next");
      // null: nobody on duty can say when (never shown as "no wait").
      wait.textContent = state.expected_wait_minutes === null ? text("WaitUnknown")
        : text("Wait").replace("{n}", state.expected_wait_minutes);
    } else if (state.status === "called") {
      position.textContent = state.room ? text("Called").replace("{room}", state.room) : text("CalledDesk");
      if (navigator.vibrate) navigator.vibrate([300, 150, 300]);
    } else if (state.status === "done") {
      position.textContent = text("StatusDone");
    } else if (state.status !== "with_consultant" && state.status !== "with_doctor") {
      position.textContent = text("StatusOther");
    }
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
