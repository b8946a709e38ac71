// Behaviours a page asks for with data attributes: the Content-Security-Policy runs no inline script.
document.querySelectorAll("[data-select-on-focus]").forEach(input => {
  input.addEventListener("focus", () => input.select());
  if (document.activeElement === input) input.select();  // autofocus came before this script ran
});
document.querySelectorAll("[data-submit-on-change]").forEach(field => {
  field.addEventListener("change", () => field.form.submit());
});
// Tables that become cards on a phone (macros.card_table): each cell labelled by its column's heading.
document.querySelectorAll("table.table-cards").forEach(table => {
  const headings = [...table.querySelectorAll("thead th")].map(th => th.textContent.trim());
  table.querySelectorAll("tbody tr").forEach(row => {
    let column = 0;
    [...row.cells].forEach(cell => {
      if (!cell.hasAttribute("data-label")) cell.dataset.label = cell.colSpan > 1 ? "" : (headings[column] || "");
      column += cell.colSpan;
    });
  });
});
// A refused form's page shown again (core/again.py): what was typed goes back into the form it was sent from,
// found by its action or a button's formaction. Once every script has run, so that a page's own script
// (the floor sheet's totals) hears the input events.
document.addEventListener("DOMContentLoaded", () => {
  const kept = document.getElementById("kept-form");
  if (!kept) return;
  const path = url => new URL(url, location.href).pathname;
  const action = kept.dataset.action;
  const form = [...document.forms].find(f => path(f.action) === action ||
    [...f.querySelectorAll("[formaction]")].some(button => path(button.formAction) === action));
  if (!form) return;
  const sent = new Map();
  JSON.parse(kept.dataset.fields).forEach(([name, value]) => sent.set(name, [...(sent.get(name) || []), value]));
  const taken = new Map();
  const skipped = ["file", "password", "hidden", "submit", "button", "reset"];
  [...form.elements].forEach(field => {
    if (!field.name || skipped.includes(field.type)) return;
    const values = sent.get(field.name) || [];
    if (field.type === "checkbox" || field.type === "radio") {
      field.checked = values.includes(field.value);
    } else if (field.type === "select-multiple") {
      [...field.options].forEach(option => { option.selected = values.includes(option.value); });
    } else if (sent.has(field.name)) {
      const index = taken.get(field.name) || 0;  // repeated names (ranked choices) in order
      if (index < values.length) field.value = values[index];
      taken.set(field.name, index + 1);
    } else {
      return;
    }
    field.dispatchEvent(new Event("input", {bubbles: true}));
  });
  // A form far down a long page: say why next to it, and go there.
  const said = document.querySelector("main > [data-testid=kept-notice], main > .alert-danger");
  if (said && form.getBoundingClientRect().top > window.innerHeight) {
    const copy = said.cloneNode(true);
    copy.removeAttribute("role");  // announced once, at the top
    copy.removeAttribute("data-testid");
    form.before(copy);
    copy.scrollIntoView({block: "start"});
  }
});
