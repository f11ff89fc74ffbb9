// Dialogue review (对话纠正): mark the step where the bot went wrong, pick the right action,
// save the conversation up to there as a training story. Texts via textContent only.
(function () {
  "use strict";
  var dialogue = document.querySelector("ol.dialogue");
  var panel = document.getElementById("correction");
  if (!dialogue || !panel) return;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var conversationId = dialogue.dataset.conversation;
  var intentSelect = panel.querySelector(".correction-intent");
  var actionSelect = panel.querySelector(".correction-action");
  var result = panel.querySelector(".correction-result");
  var storyView = panel.querySelector(".correction-story");
  var saveButton = panel.querySelector(".save-story");
  var marked = null;

  function steps() { return Array.prototype.slice.call(dialogue.querySelectorAll("li.turn[data-step]")); }

  // The customer message the correction answers: the marked one, or the last one before the marked action.
  function messageFor(li) {
    if (li.dataset.kind === "user") return li;
    var before = steps().filter(function (s) { return Number(s.dataset.step) < Number(li.dataset.step); });
    for (var i = before.length - 1; i >= 0; i--) if (before[i].dataset.kind === "user") return before[i];
    return null;
  }

  function mark(li) {
    steps().forEach(function (s) { s.classList.remove("marked", "after-marked"); });
    var n = Number(li.dataset.step);
    steps().forEach(function (s) {
      var k = Number(s.dataset.step);
      if (k === n) s.classList.add("marked");
      else if (k > n) s.classList.add("after-marked");
    });
    var message = messageFor(li);
    marked = { step: n, li: li };
    panel.hidden = false;
    // "Turn" as a trainer counts it: the customer messages up to the marked step.
    panel.querySelector(".correction-step").textContent = String(steps().filter(function (s) {
      return s.dataset.kind === "user" && Number(s.dataset.step) <= n;
    }).length);
    panel.querySelector(".correction-what").textContent = li.dataset.kind === "user"
      ? "客户这句话之后，机器人应该："
      : "机器人执行了 " + li.dataset.action + "，应该改为：";
    // Preset to what the bot understood; empty when that is not a choice (nlu_fallback).
    var understood = message ? message.dataset.intent : "";
    var known = Array.prototype.some.call(intentSelect.options, function (o) { return o.value && o.value === understood; });
    intentSelect.value = known ? understood : "";
    if (li.dataset.kind === "action") actionSelect.value = li.dataset.action;
    result.textContent = "";
    result.className = "correction-result small";
    storyView.hidden = true;
  }

  dialogue.addEventListener("click", function (event) {
    var button = event.target.closest("button.mark-step");
    if (!button) return;
    mark(button.closest("li.turn"));
  });

  panel.querySelector(".cancel-correction").addEventListener("click", function () {
    panel.hidden = true;
    marked = null;
    steps().forEach(function (s) { s.classList.remove("marked", "after-marked"); });
  });

  saveButton.addEventListener("click", function () {
    if (!marked) return;
    if (!intentSelect.value) {
      result.textContent = "请先选择客户这句话的意图";
      result.className = "correction-result small refused";
      return;
    }
    saveButton.disabled = true;
    result.textContent = "正在用 Rasa 校验训练数据……";
    result.className = "correction-result small";
    fetch("stories", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ conversation_id: conversationId, step: marked.step,
                             action: actionSelect.value, intent: intentSelect.value }),
    }).then(function (r) {
      return r.json().catch(function () { return { message: "HTTP " + r.status }; });
    }).then(function (data) {
      var ok = data.status === "added" || data.status === "exists";
      result.textContent = data.message + (data.file ? "（" + data.file + "）" : "");
      result.className = "correction-result small " + (ok ? "ok" : "refused");
      if (data.story) {
        storyView.textContent = data.story.steps.map(function (s) {
          var key = Object.keys(s)[0];
          return "- " + key + ": " + (typeof s[key] === "string" ? s[key] : JSON.stringify(s[key]));
        }).join("\n");
        storyView.hidden = false;
      }
    }).catch(function () {
      result.textContent = "网络错误，未保存，请重试";
      result.className = "correction-result small refused";
    }).then(function () { saveButton.disabled = false; });
  });
})();
