// Behaviours a page asks for with data attributes: the Content-Security-Policy runs no inline script.
document.querySelectorAll("[data-select-on-focus]").forEach(input => {
  input.addEventListener("focus", () => input.select());
  if (document.activeElement === input) input.select();  // autofocus came before this script ran
});
document.querySelectorAll("[data-submit-on-change]").forEach(field => {
  field.addEventListener("change", () => field.form.submit());
});
