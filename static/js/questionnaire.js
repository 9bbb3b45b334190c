// The health questionnaire (kiosk and desk): "None" and the options of the same question exclude
// each other, so an answer is either 无 or what applies.
(function () {
  "use strict";
  document.addEventListener("change", (event) => {
    const box = event.target;
    const group = box.closest && box.closest("[data-none-group]");
    if (!group || !box.checked) return;
    const field = group.closest("fieldset") || group;
    if (box.hasAttribute("data-none")) {
      field.querySelectorAll("input[type=checkbox]:not([data-none])").forEach((other) => { other.checked = false; });
      field.querySelectorAll("textarea, input[type=text], input:not([type])").forEach((text) => { text.value = ""; });
    } else {
      field.querySelectorAll("input[data-none]").forEach((none) => { none.checked = false; });
    }
  });
  document.addEventListener("input", (event) => {
    // Typing a detail (an allergy, a past surgery) takes back a "None".
    const text = event.target;
    if (!text.matches || !text.matches("fieldset textarea, fieldset input[type=text], fieldset input:not([type])")) return;
    const field = text.closest("fieldset");
    if (text.value) field.querySelectorAll("input[data-none]").forEach((none) => { none.checked = false; });
  });
})();
