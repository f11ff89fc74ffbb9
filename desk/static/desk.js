// Shared desk behaviour: CSRF-aware POST, presence heartbeat, shortcut help.
"use strict";

const Desk = (() => {
  const csrfToken = document.querySelector('meta[name="csrf-token"]')?.content || "";

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken },
      body: JSON.stringify(body || {}),
    });
    let data = {};
    try { data = await response.json(); } catch (e) { /* not JSON */ }
    if (response.status === 401) window.location.reload(); // session expired: back to login
    return { ok: response.ok, status: response.status, data };
  }

  function isTyping(event) {
    const t = event.target;
    return t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
  }

  // Presence: agents count as online while a desk page is open.
  function startHeartbeat() {
    const url = document.body.dataset.heartbeatUrl;
    if (!url) return;
    const seconds = Number(document.body.dataset.heartbeatSeconds || 20);
    const badge = document.getElementById("presence");
    let announced = false;
    const beat = async () => {
      try {
        const r = await post(url);
        if (badge) { badge.classList.toggle("offline", !r.ok); badge.textContent = r.ok ? "在线" : "离线"; }
        // Pages that show presence (the queue) refresh once we count as online.
        if (r.ok && !announced) { announced = true; document.dispatchEvent(new CustomEvent("desk:online")); }
      } catch (e) {
        if (badge) { badge.classList.add("offline"); badge.textContent = "离线"; }
      }
    };
    beat();
    setInterval(beat, seconds * 1000);
  }

  function setupHelp() {
    const help = document.getElementById("help");
    if (!help) return;
    const toggle = (show) => { help.hidden = !show; };
    document.getElementById("help-open")?.addEventListener("click", () => toggle(true));
    document.getElementById("help-close")?.addEventListener("click", () => toggle(false));
    document.addEventListener("keydown", (event) => {
      if (event.key === "?" && !isTyping(event)) { toggle(help.hidden); event.preventDefault(); }
      else if (event.key === "Escape" && !help.hidden) { toggle(false); event.preventDefault(); }
    });
  }

  function showError(element, text) {
    if (!element) return;
    element.textContent = text || "";
    element.hidden = !text;
  }

  document.addEventListener("DOMContentLoaded", () => { startHeartbeat(); setupHelp(); });
  return { post, isTyping, showError };
})();
