// Conversation page: live transcript (polling), reply with Ctrl+Enter, quick replies.
// Customer text is only ever put into the page with textContent.
"use strict";

(() => {
  const list = document.getElementById("transcript");
  const errorBox = document.getElementById("transcript-error");
  const liveState = document.getElementById("live-state");
  const form = document.getElementById("reply-form");
  const textarea = document.getElementById("reply");
  const replyState = document.getElementById("reply-state");
  const claimButton = document.getElementById("claim-btn");
  const queueUrl = document.querySelector(".chat-head a.btn")?.href || "/desk/";
  const ROLE_LABEL = { customer: "客户", bot: "机器人", agent: "坐席", system: "系统" };
  const STATUS_LABEL = { queued: "排队中", claimed: "处理中", resolved: "已结束", cancelled: "已取消", callback: "已转回电" };
  let lastIndex = -1;
  let failures = 0;
  let usedSummary = false;
  let polling = false; // one request at a time, or messages could be appended twice

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function appendMessage(message) {
    const item = element("li", "msg " + message.role);
    const meta = element("div", "meta");
    const who = message.role === "agent" && message.agent ? `坐席 ${message.agent}` : ROLE_LABEL[message.role] || message.role;
    meta.appendChild(element("span", "who", who));
    if (message.at) meta.appendChild(element("span", "at", message.at));
    item.appendChild(meta);
    item.appendChild(element("div", "bubble", message.text));
    list.appendChild(item);
  }

  function atBottom() {
    return list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  }

  // When Rasa cannot be reached, show at least what the bot recorded at hand-over time.
  function showSummary() {
    if (usedSummary || lastIndex >= 0) return;
    usedSummary = true;
    const summary = JSON.parse(document.getElementById("summary-messages").textContent || "[]");
    summary.forEach((m) => appendMessage({ role: m.role, text: m.text, at: m.at }));
  }

  async function poll() {
    if (polling) return;
    polling = true;
    try {
      const response = await fetch(`${list.dataset.url}?after=${lastIndex}`, { credentials: "same-origin", cache: "no-store" });
      if (response.status === 401) { window.location.reload(); return; }
      const data = await response.json();
      if (!response.ok) throw new Error(data.message || String(response.status));
      if (usedSummary) { list.textContent = ""; usedSummary = false; }
      const follow = atBottom() || lastIndex < 0;
      data.messages.forEach(appendMessage);
      lastIndex = Math.max(lastIndex, data.last_index);
      if (follow) list.scrollTop = list.scrollHeight;
      failures = 0;
      Desk.showError(errorBox, "");
      if (liveState) liveState.textContent = `${STATUS_LABEL[data.status] || data.status} · 实时刷新中`;
      if (data.status !== list.dataset.status && list.dataset.status === "claimed" && form) {
        Desk.showError(errorBox, "该会话已被结束或转交，请返回队列。");
        form.querySelectorAll("textarea, button").forEach((el) => { el.disabled = true; });
      }
    } catch (e) {
      failures += 1;
      showSummary();
      Desk.showError(errorBox, failures > 2 ? "暂时无法获取实时对话（对话服务未连接），下方为转人工时的记录。" : "");
    } finally {
      polling = false;
    }
  }

  async function send() {
    const text = textarea.value.trim();
    if (!text) return;
    textarea.disabled = true;
    replyState.textContent = "发送中…";
    const result = await Desk.post(form.dataset.url, { text });
    textarea.disabled = false;
    if (result.ok) {
      textarea.value = "";
      replyState.textContent = "已发送";
      poll();
    } else {
      replyState.textContent = result.data.message || "发送失败，请重试";
    }
    textarea.focus();
  }

  if (form) {
    form.addEventListener("submit", (event) => { event.preventDefault(); send(); });
    textarea.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); send(); }
    });
    const quick = Array.from(form.querySelectorAll(".quick-reply"));
    const insert = (button) => {
      const start = textarea.selectionStart ?? textarea.value.length;
      textarea.setRangeText(button.dataset.text, start, textarea.selectionEnd ?? start, "end");
      textarea.focus();
    };
    quick.forEach((button) => button.addEventListener("click", () => insert(button)));
    document.addEventListener("keydown", (event) => {
      if (event.altKey && /^[1-9]$/.test(event.key) && quick[Number(event.key) - 1]) {
        insert(quick[Number(event.key) - 1]);
        event.preventDefault();
      }
    });
  }

  async function claim() {
    const result = await Desk.post(claimButton.dataset.url);
    if (result.ok) window.location.reload();
    else Desk.showError(errorBox, result.data.message || "接入失败，请重试。");
  }
  claimButton?.addEventListener("click", claim);

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && Desk.isTyping(event)) { event.target.blur(); return; }
    if (Desk.isTyping(event) || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "/" && textarea) { textarea.focus(); event.preventDefault(); }
    else if (event.key === "Enter" && claimButton) { claim(); event.preventDefault(); }
    else if (event.key === "Escape" && document.getElementById("help").hidden) { window.location.href = queueUrl; }
  });

  poll();
  setInterval(poll, Number(list.dataset.pollMs || 1000));
  if (textarea) textarea.focus();
})();
