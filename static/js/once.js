// Every write sent from this page carries an idempotency key, so the server does it once however
// often it arrives (lobby/idempotency.py). A button or form keeps its key until an answer comes
// back: a tap again after a lost answer (flaky Wi-Fi, a timeout) is the same request, answered as
// the first was; once answered, its next tap is a new request with a new key.
(function () {
  "use strict";
  const keys = new WeakMap();
  const WRITES = new Set(["post", "put", "patch", "delete"]);

  // crypto.randomUUID needs https or localhost; a clinic LAN may serve plain http.
  function newKey() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // The same element sending other values (another button of the same form, a field changed) is
  // another request: a key of its own.
  function keyOf(elt, sent) {
    const known = keys.get(elt);
    if (known && known.sent === sent) return known.key;
    const key = newKey();
    keys.set(elt, {key, sent});
    return key;
  }

  function whatIsSent(formData) {
    if (!formData) return "";
    const fields = [];
    formData.forEach((value, name) => {
      if (name !== "csrf_token" && name !== "idempotency_key") fields.push(name + "=" + (typeof value === "string" ? value : value.name));
    });
    return fields.sort().join("&");
  }

  document.addEventListener("htmx:configRequest", (event) => {
    if (!WRITES.has(String(event.detail.verb).toLowerCase())) return;
    event.detail.headers["Idempotency-Key"] = keyOf(event.detail.elt, whatIsSent(event.detail.formData));
  });
  // An answer came: the request is over, and what the element sends next is another one. No answer
  // at all, a server failure or 409 (perhaps "still on its way"): the key stays for the retry (a
  // key whose request saved nothing is simply used afresh).
  document.addEventListener("htmx:afterRequest", (event) => {
    const status = event.detail.xhr ? event.detail.xhr.status : 0;
    if (status !== 0 && status < 500 && status !== 409) keys.delete(event.detail.elt);
  });

  // The server's word on a repeat it will not answer (lobby/idempotency.py): shown in the
  // screen's notice (the desk's toast; made on the spot elsewhere).
  document.addEventListener("lobby:notice", (event) => {
    let notice = document.getElementById("toast");
    if (!notice) {
      notice = document.createElement("div");
      notice.id = "toast";
      notice.className = "toast";
      notice.setAttribute("role", "status");
      notice.setAttribute("aria-live", "polite");
      document.body.appendChild(notice);
    }
    notice.textContent = event.detail.value;
    notice.classList.remove("show");
    void notice.offsetWidth;  // restart the fade-out animation
    notice.classList.add("show");
  });

  // Forms sent the classic way (no htmx): the key rides in a hidden field, which a browser's
  // "send again" also repeats.
  // A second click while the page is still on its way is not sent at all. (On window: after the
  // page's own submit handlers, so a form whose confirmation was declined is left alone.)
  window.addEventListener("submit", (event) => {
    const form = event.target;
    if (event.defaultPrevented || !form.matches("form[method=post i]") || form.hasAttribute("hx-post")) return;
    if (form.dataset.sending) {
      event.preventDefault();
      return;
    }
    let field = form.querySelector("input[name=idempotency_key]");
    if (!field) {
      field = document.createElement("input");
      field.type = "hidden";
      field.name = "idempotency_key";
      form.appendChild(field);
    }
    field.value = keyOf(form, whatIsSent(new FormData(form, event.submitter)));
    form.dataset.sending = "1";
  });
  // Back on a page kept by the browser (back button): its forms may be sent again.
  window.addEventListener("pageshow", () => {
    document.querySelectorAll("form[data-sending]").forEach((form) => { delete form.dataset.sending; });
  });
})();
