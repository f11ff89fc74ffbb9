// Trainer review page: one-click intent correction, entity marking, accept / ignore.
// Texts are inserted with textContent only (customer text is untrusted).
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var options = document.getElementById("intent-options");
  var ANNOTATABLE = { time: "时间", address: "地址", person_name: "姓名" };

  function post(path, body) {
    return fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body),
    }).then(function (r) {
      return r.json().catch(function () { return { message: "HTTP " + r.status }; })
        .then(function (data) { data.httpStatus = r.status; return data; });
    });
  }

  function setup(tr) {
    var row = JSON.parse(tr.dataset.row);
    // Entities the trainer keeps: DIET's (time/address/person_name); others are automatic.
    var entities = row.entities.map(function (e) {
      return { entity: e.entity, start: e.start, end: e.end, value: e.value, keep: e.entity in ANNOTATABLE };
    });
    var textEl = tr.querySelector(".review-text");
    var entEl = tr.querySelector(".review-entities");
    var result = tr.querySelector(".review-result");
    var select = tr.querySelector(".intent-choice");
    select.innerHTML = options.innerHTML;
    select.value = row.intent;

    function render() {
      textEl.textContent = "";
      var cursor = 0;
      entities.filter(function (e) { return e.keep; })
        .sort(function (a, b) { return a.start - b.start; })
        .forEach(function (e) {
          if (e.start < cursor) return;
          textEl.appendChild(document.createTextNode(row.text.slice(cursor, e.start)));
          var span = document.createElement("span");
          span.className = "ent ent-" + e.entity;
          span.title = e.entity;
          span.textContent = row.text.slice(e.start, e.end);
          textEl.appendChild(span);
          cursor = e.end;
        });
      textEl.appendChild(document.createTextNode(row.text.slice(cursor)));
      entEl.textContent = "";
      entities.forEach(function (e, i) {
        var chip = document.createElement("span");
        chip.className = "chip" + (e.entity in ANNOTATABLE ? "" : " auto");
        if (e.entity in ANNOTATABLE) {
          var box = document.createElement("input");
          box.type = "checkbox";
          box.checked = e.keep;
          box.addEventListener("change", function () { entities[i].keep = box.checked; render(); });
          chip.appendChild(box);
          chip.appendChild(document.createTextNode(ANNOTATABLE[e.entity] + "：" + row.text.slice(e.start, e.end)));
        } else {
          chip.title = "由词典/正则自动识别，不写入标注";
          chip.appendChild(document.createTextNode(e.entity + "：" + e.value));
        }
        entEl.appendChild(chip);
      });
    }

    function selectionOffsets() {
      var sel = window.getSelection();
      if (!sel.rangeCount || sel.isCollapsed) return null;
      var range = sel.getRangeAt(0);
      if (!textEl.contains(range.startContainer) || !textEl.contains(range.endContainer)) return null;
      var before = document.createRange();
      before.setStart(textEl, 0);
      before.setEnd(range.startContainer, range.startOffset);
      var start = before.toString().length;
      var end = start + range.toString().length;
      // no blanks at the edges of an entity
      while (start < end && /\s/.test(row.text[start])) start++;
      while (end > start && /\s/.test(row.text[end - 1])) end--;
      return end > start ? { start: start, end: end } : null;
    }

    tr.querySelectorAll(".mark-entity").forEach(function (button) {
      button.addEventListener("click", function () {
        var span = selectionOffsets();
        if (!span) { result.className = "review-result small refused"; result.textContent = "请先在消息里选中要标注的文字"; return; }
        entities = entities.filter(function (e) { return !(e.keep && e.start < span.end && span.start < e.end); });
        entities.push({ entity: button.dataset.entity, start: span.start, end: span.end,
                        value: row.text.slice(span.start, span.end), keep: true });
        window.getSelection().removeAllRanges();
        result.textContent = "";
        render();
      });
    });

    function done(data) {
      var ok = data.httpStatus === 200;
      result.className = "review-result small " + (ok ? "ok" : "refused");
      result.textContent = data.message + (data.dropped_entities && data.dropped_entities.length
        ? "（未写入的实体：" + data.dropped_entities.join("、") + "）" : "");
      if (ok) {
        tr.classList.add("done");
        tr.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
      }
    }

    function accept(intent) {
      var kept = entities.filter(function (e) { return e.keep; })
        .map(function (e) { return { entity: e.entity, start: e.start, end: e.end, value: e.value }; });
      result.className = "review-result small"; result.textContent = "提交中…";
      post("accept", { text: row.text, intent: intent, entities: kept }).then(done, function () {
        result.className = "review-result small refused"; result.textContent = "网络错误，请重试";
      });
    }

    tr.querySelectorAll("button.accept").forEach(function (button) {
      button.addEventListener("click", function () { accept(button.dataset.intent); });
    });
    tr.querySelector(".accept-chosen").addEventListener("click", function () { accept(select.value); });
    tr.querySelector(".ignore").addEventListener("click", function () {
      post("ignore", { text: row.text, intent: row.intent }).then(done);
    });
    render();
  }

  document.querySelectorAll("tr.review-row").forEach(setup);
})();
