// KX app: the progress bars of a job (Server-Sent Events), the running total of the files
// chosen for a send, and the way back to the PIN screen once the app locked itself. Everything
// else is plain HTML forms.
"use strict";

function followJob(section) {
  const source = new EventSource(section.dataset.events);
  const name = document.getElementById("job-name");
  source.onmessage = (message) => {
    const bars = JSON.parse(message.data);
    if (bars.name && name) name.textContent = bars.name;
    const bar = document.getElementById("bar-" + bars.phase);
    if (bar && bars.total) {
      const pct = Math.min(100, Math.floor((bars.done * 100) / bars.total));
      bar.value = pct;
      bar.setAttribute("aria-valuenow", String(pct));
      const out = document.getElementById("pct-" + bars.phase);
      if (out) out.textContent = pct + "%";
      // A new file starts its download: the decryption bar of the last one empties.
      if (bars.phase === "download") {
        const next = document.getElementById("bar-decryption");
        if (next && bars.done === 0) next.value = 0;
      }
    }
    if (bars.finished) {
      source.close();
      window.location.assign(section.dataset.result);
    }
  };
}

function watchChooser(input) {
  const out = document.getElementById(input.dataset.total);
  const already = Number(input.dataset.already || "0");
  const limit = Number(input.dataset.limit || "0");
  input.addEventListener("change", () => {
    let sum = already;
    for (const file of input.files) sum += file.size;
    out.textContent = (sum / 1048576).toFixed(1) + " MB / " + (limit / 1048576).toFixed(0) + " MB";
    out.classList.toggle("over", sum > limit);
  });
}

// The app locks itself after its idle time without a request (and never under a job): the
// screen then goes to "/", which is the PIN screen once locked, instead of showing its data.
function lockWhenIdle(seconds) {
  window.setTimeout(() => window.location.assign("/"), (seconds + 2) * 1000);
}

document.addEventListener("DOMContentLoaded", () => {
  const job = document.getElementById("job");
  if (job) followJob(job);
  const idle = Number(document.body.dataset.locksAfter || "0");
  if (idle > 0 && !job) lockWhenIdle(idle);
  for (const input of document.querySelectorAll("input[type=file][data-total]")) watchChooser(input);
});
