// The front-desk panel: a Socket.IO /admin ping makes the list re-fetch itself over HTTP.
// No inline handlers anywhere (the Content-Security-Policy forbids them): behaviour hangs on data- attributes.
(function () {
  "use strict";
  // A form that asks before it acts (erasing a client's data).
  document.addEventListener("submit", (event) => {
    const form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
  });
  document.addEventListener("click", (event) => {
    const copy = event.target.closest("[data-copy]");
    if (copy) {
      const source = document.querySelector(copy.dataset.copy);
      if (source) navigator.clipboard.writeText(source.value || source.textContent);
    }
    if (event.target.closest("[data-print]")) window.print();
  });
  const shell = document.querySelector("[data-admin]");
  if (!shell) return;
  const socket = io("/admin", {transports: ["websocket", "polling"]});
  socket.on("queue-changed", () => htmx.trigger(document.body, "queue-changed"));
  socket.on("connect", () => { shell.dataset.connected = "1"; htmx.trigger(document.body, "queue-changed"); });
  socket.on("disconnect", () => { shell.dataset.connected = "0"; });
  socket.on("session-ended", () => window.location.assign(shell.dataset.loginUrl));
  // An expired staff session answers 401 with HX-Redirect; htmx follows it to the login page.
})();
