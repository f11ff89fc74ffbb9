// Queue page: j/k selection, Enter to claim, auto-refresh that keeps the selection.
"use strict";

(() => {
  const container = document.getElementById("queue-tables");
  const errorBox = document.getElementById("queue-error");
  const refreshed = document.getElementById("refreshed");
  let selectedId = null;

  const rows = () => Array.from(container.querySelectorAll("tr.row"));

  function select(row) {
    rows().forEach((r) => r.classList.toggle("selected", r === row));
    if (row) { selectedId = row.dataset.id; row.focus({ preventScroll: true }); row.scrollIntoView({ block: "nearest" }); }
  }

  function restoreSelection() {
    const all = rows();
    const again = all.find((r) => r.dataset.id === selectedId);
    if (again) again.classList.add("selected");
    else if (all.length && selectedId === null) select(all[0]);
  }

  function move(step) {
    const all = rows();
    if (!all.length) return;
    const index = all.findIndex((r) => r.dataset.id === selectedId);
    select(all[Math.min(all.length - 1, Math.max(0, index + step))] || all[0]);
  }

  async function claim(row) {
    if (!row.dataset.claimUrl) { window.location.href = row.dataset.openUrl; return; }
    const result = await Desk.post(row.dataset.claimUrl);
    if (result.ok) window.location.href = result.data.url;
    else { Desk.showError(errorBox, result.data.message || "接入失败，请重试。"); refresh(); }
  }

  async function refresh() {
    try {
      const response = await fetch(container.dataset.rowsUrl, { credentials: "same-origin", cache: "no-store" });
      if (response.status === 401 || response.redirected) { window.location.reload(); return; }
      if (!response.ok) throw new Error(String(response.status));
      // Server-rendered by Jinja2 with autoescaping: customer text arrives escaped.
      container.innerHTML = await response.text();
      restoreSelection();
      if (refreshed) refreshed.textContent = "· 已刷新 " + new Date().toLocaleTimeString("zh-CN", { hour12: false, timeZone: document.body.dataset.timezone });
    } catch (e) {
      Desk.showError(errorBox, "队列刷新失败，正在重试…");
    }
  }

  container.addEventListener("click", (event) => {
    const row = event.target.closest("tr.row");
    if (!row) return;
    if (event.target.closest("button.claim")) { claim(row); return; }
    if (event.target.closest("a")) return;
    select(row);
  });
  container.addEventListener("dblclick", (event) => {
    const row = event.target.closest("tr.row");
    if (row) window.location.href = row.dataset.openUrl;
  });

  document.addEventListener("keydown", (event) => {
    if (Desk.isTyping(event) || event.ctrlKey || event.metaKey || event.altKey) return;
    const current = rows().find((r) => r.dataset.id === selectedId);
    if (event.key === "j" || event.key === "ArrowDown") { move(1); event.preventDefault(); }
    else if (event.key === "k" || event.key === "ArrowUp") { move(-1); event.preventDefault(); }
    else if (event.key === "Enter" && current) { claim(current); event.preventDefault(); }
    else if (event.key === "o" && current) { window.location.href = current.dataset.openUrl; }
    else if (event.key === "r") { refresh(); }
    else if (/^[1-9]$/.test(event.key)) {
      const tab = document.querySelector(`#group-tabs a[data-key="${event.key}"]`);
      if (tab) window.location.href = tab.href;
    }
  });

  document.addEventListener("desk:online", refresh);
  restoreSelection();
  setInterval(refresh, Number(container.dataset.refreshSeconds || 5) * 1000);
})();
