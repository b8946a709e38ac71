// The selection page: each [data-countdown] (seconds, from the server's clock) shows a running clock, and the
// page reloads when one marked data-reload-at-zero runs out (a window opening, a hold running out). [data-print]
// prints the page (its print style shows the confirmed bed only).
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
})();
