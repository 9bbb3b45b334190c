// The front-desk panel: a Socket.IO /admin ping makes the list re-fetch itself over HTTP.
// No inline handlers anywhere (the Content-Security-Policy forbids them): behaviour hangs on data- attributes.
(function () {
  "use strict";
  // A form that asks before it acts (erasing a client's data).
  document.addEventListener("submit", (event) => {
    const form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
  });
  // The clipboard API exists only on https or localhost; a clinic LAN on plain http selects the
  // text and copies it the old way.
  function copyText(source, button) {
    const text = (source.value || source.textContent).trim();
    const done = () => { button.dataset.copied = ""; setTimeout(() => delete button.dataset.copied, 1500); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done);
      return;
    }
    const range = document.createRange();
    range.selectNodeContents(source);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    if (document.execCommand("copy")) done();
  }

  document.addEventListener("click", (event) => {
    const copy = event.target.closest("[data-copy]");
    if (copy) {
      const source = document.querySelector(copy.dataset.copy);
      if (source) copyText(source, copy);
    }
    if (event.target.closest("[data-print]")) window.print();
  });

  // The search boxes ask as the receptionist types; their "change" on leaving must not send the
  // filters again (a second request racing the click that made the box lose focus).
  document.addEventListener("change", (event) => {
    if (event.target.matches && event.target.matches("input[type=search][hx-preserve]")) event.stopPropagation();
  }, true);

  // --- Live sections never destroy work ------------------------------------------------------
  // A section marked data-live re-fetches itself when the queue changes. While the receptionist
  // is working in it (a popover or panel open, a field focused, a form half-filled), its refresh
  // waits: the section is marked data-stale and refreshed as soon as they are done.
  function edited(form) {
    return Array.from(form.elements).some((field) => {
      if (field.type === "hidden" || field.type === "submit" || field.type === "button") return false;
      if (field.type === "checkbox" || field.type === "radio") return field.checked !== field.defaultChecked;
      if (field.tagName === "SELECT") return Array.from(field.options).some((o) => o.selected !== o.defaultSelected);
      return field.value !== field.defaultValue;
    });
  }
  // Work put away (a popover closed on a draft) no longer holds the refresh back.
  const shown = (el) => !el.closest("details:not([open])") || el.matches("summary");
  function busy(section) {
    if (section.querySelector("details[open]")) return true;
    const active = document.activeElement;
    // (The search box is kept across refreshes, hx-preserve: typing in it holds nothing back.)
    if (active && section.contains(active) && active.matches("input, select, textarea") && shown(active)
        && !active.hasAttribute("hx-preserve")) return true;
    return Array.from(section.querySelectorAll("form:not([data-live-filter])")).some((f) => shown(f) && edited(f));
  }
  function catchUp() {
    // After the current event (a click closing a popover, focus leaving a field) has settled.
    window.setTimeout(() => {
      searchesHeld.forEach((id) => {
        const search = document.getElementById(id);
        const section = search && search.closest("[data-live]");
        if (search && !acting.get(section)) {
          searchesHeld.delete(id);
          htmx.trigger(search, "search");
        }
      });
      document.querySelectorAll("[data-live][data-stale]").forEach((section) => {
        if (!busy(section) && !acting.get(section)) {
          delete section.dataset.stale;
          htmx.trigger(section, "live-refresh");
        }
      });
    }, 0);
  }
  // The receptionist's own actions in flight, per section: their answer is the fresh list (and
  // carries the confirmation), so a refresh meanwhile waits for it rather than cutting it off.
  const acting = new Map();
  // Decided on htmx:confirm, before htmx applies hx-sync: a refresh let through would abort the
  // action in flight ("latest request wins") and its answer, confirmation and all, would be lost.
  const searchesHeld = new Set();
  document.addEventListener("htmx:confirm", (event) => {
    const elt = event.target;
    if (!elt.matches) return;
    // A search typed while an action is on its way asks again once the action's answer is in.
    const around = elt.matches("input[type=search][hx-preserve]") && elt.closest("[data-live]");
    if (around && acting.get(around)) {
      event.preventDefault();
      searchesHeld.add(elt.id);
      return;
    }
    // Only the section's own refresh waits; what the receptionist does goes through at once.
    if (!elt.matches("[data-live]")) return;
    if (busy(elt) || acting.get(elt)) {
      event.preventDefault();
      elt.dataset.stale = "1";
    }
  });
  document.addEventListener("htmx:beforeRequest", (event) => {
    const elt = event.detail.elt;
    const section = elt.matches && !elt.matches("[data-live]") && elt.closest("[data-live]");
    if (section) acting.set(section, (acting.get(section) || 0) + 1);
  });
  document.addEventListener("htmx:afterRequest", (event) => {
    const elt = event.detail.elt;
    const section = elt.matches && !elt.matches("[data-live]") && elt.closest("[data-live]");
    if (section) acting.set(section, Math.max(0, (acting.get(section) || 1) - 1));
  });
  // A refresh already on its way when the receptionist started working: not swapped in either.
  document.addEventListener("htmx:beforeSwap", (event) => {
    const section = event.detail.elt;
    if (!section.matches || !section.matches("[data-live]") || event.detail.requestConfig.elt !== section) return;
    if (busy(section)) {
      event.detail.shouldSwap = false;
      section.dataset.stale = "1";
    }
  });
  document.addEventListener("toggle", catchUp, true);
  document.addEventListener("focusout", catchUp);
  document.addEventListener("htmx:afterRequest", catchUp);
  document.addEventListener("keydown", (event) => {
    // "/" goes to the search box, unless the receptionist is typing somewhere.
    const typing = event.target.closest && event.target.closest("input, select, textarea, [contenteditable]");
    const search = document.getElementById("queue-search");
    if (event.key === "/" && !typing && search && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      search.focus();
      search.select();
    }
    // Esc closes an open popover (and so lets a waiting refresh through).
    if (event.key === "Escape") {
      document.querySelectorAll("[data-live] details[open]").forEach((d) => { d.open = false; });
    }
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
