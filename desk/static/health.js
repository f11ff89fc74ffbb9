// The "service degraded" banner (desk/health.py): re-checked every 15 s without a reload.
(function () {
  "use strict";
  var banner = document.getElementById("degraded-banner");
  if (!banner) return;
  var labels = {rasa: "智能助手（Rasa）", actions: "业务动作服务", desk: "坐席工作台",
                service_db: "业务数据库", tracker_store: "会话记录库", redis: "Redis 锁服务"};
  function label(name) {
    var base = name.replace(/\d+$/, "");
    return (labels[base] || name) + (base !== name ? " #" + name.slice(base.length) : "");
  }
  function check() {
    fetch(banner.dataset.healthUrl, {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (body) {
        var down = Object.keys(body.parts).filter(function (n) { return !body.parts[n].up; });
        document.getElementById("degraded-parts").textContent = down.map(label).join("、");
        banner.hidden = down.length === 0;
      })
      .catch(function () {  // the desk itself is unreachable
        document.getElementById("degraded-parts").textContent = labels.desk;
        banner.hidden = false;
      });
  }
  setInterval(check, 15000);
})();
