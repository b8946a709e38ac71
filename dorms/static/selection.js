// The selection page: each [data-countdown] (seconds, from the server's clock) shows a running clock, and the
// page reloads when one marked data-reload-at-zero runs out (a window opening, a hold running out). [data-print]
// prints the page (its print style shows the confirmed bed only). The office's live dashboard
// ([data-refresh-seconds]) reloads itself every so often, but never under someone filling in one of its forms.
(function () {
  const clocks = [...document.querySelectorAll("[data-countdown]")];
  const started = Date.now();
  const pad = n => String(n).padStart(2, "0");
  function tick() {
    const elapsed = Math.floor((Date.now() - started) / 1000);
    for (const clock of clocks) {
      const left = Math.max(0, Number(clock.dataset.countdown) - elapsed);
      const hours = Math.floor(left / 3600), minutes = Math.floor(left / 60) % 60, seconds = left % 60;
      clock.textContent = (hours ? hours + ":" + pad(minutes) : minutes) + ":" + pad(seconds);
      if (left === 0 && clock.hasAttribute("data-reload-at-zero")) {
        clock.removeAttribute("data-reload-at-zero");
        setTimeout(() => window.location.reload(), 1000);
      }
    }
  }
  if (clocks.length) {
    tick();
    setInterval(tick, 1000);
  }
  document.querySelectorAll("[data-print]").forEach(button => button.addEventListener("click", () => window.print()));
  const live = document.querySelector("[data-refresh-seconds]");
  if (live) {
    let touched = false;  // a box ticked or a field typed in: the reload would lose it
    document.addEventListener("input", () => { touched = true; });
    document.addEventListener("change", () => { touched = true; });
    setInterval(() => {
      const focused = document.activeElement && document.activeElement.closest("form");
      if (!touched && !focused) window.location.reload();
    }, Number(live.dataset.refreshSeconds) * 1000);
  }
})();
