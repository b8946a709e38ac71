// The hygiene floor sheet: each room's total and band as points are typed, and the full-marks button.
(function () {
  const form = document.querySelector("[data-testid=floor-form]");
  const excellent = Number(form.dataset.excellent), pass = Number(form.dataset.pass);
  const labels = {excellent: form.dataset.labelExcellent, pass: form.dataset.labelPass, fail: form.dataset.labelFail,
                  absent: form.dataset.labelAbsent};
  const styles = {excellent: "success", pass: "warning", fail: "danger"};
  function refresh(card) {
    const inputs = [...card.querySelectorAll(".score-input")];
    const absent = card.querySelector(".absent").checked;
    card.classList.toggle("is-absent", absent);
    const out = card.querySelector(".room-total");
    const badge = document.createElement("span");
    if (absent) {
      badge.className = "badge text-bg-secondary";
      badge.textContent = labels.absent;
    } else if (inputs.some(i => i.value.trim() === "")) {
      if (inputs.every(i => i.value.trim() === "")) out.textContent = "";
      return;  // half filled: no total yet
    } else {
      const total = inputs.reduce((sum, i) => sum + Number(i.value), 0);
      const band = total >= excellent ? "excellent" : total >= pass ? "pass" : "fail";
      badge.className = "badge text-bg-" + styles[band];
      badge.dataset.band = band;
      badge.textContent = total + " · " + labels[band];
    }
    out.replaceChildren(badge);
  }
  form.querySelectorAll(".room-card").forEach(card => {
    card.addEventListener("input", () => refresh(card));
    card.querySelector(".full-marks").addEventListener("click", () => {
      card.querySelectorAll(".score-input").forEach(i => { i.value = i.dataset.max; });
      card.querySelector(".absent").checked = false;
      refresh(card);
    });
  });
})();
