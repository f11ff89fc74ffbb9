// Analytics page: draws each panel's chart with Apache ECharts from the JSON the server
// embedded (#analytics-data); the tables under the charts carry the same figures.
(function () {
  "use strict";
  var node = document.getElementById("analytics-data");
  if (!node) return;
  var data = JSON.parse(node.textContent);
  var form = document.getElementById("an-filters");
  if (form) {
    // A preset period ignores the custom dates; editing a date switches to "custom".
    form.querySelectorAll("input[type=date]").forEach(function (input) {
      input.addEventListener("change", function () {
        form.querySelector("input[name=period][value=custom]").checked = true;
      });
    });
    form.querySelectorAll("input[name=period]").forEach(function (radio) {
      radio.addEventListener("change", function () { if (radio.value !== "custom") form.submit(); });
    });
  }
  if (typeof echarts === "undefined") {
    document.body.classList.add("no-charts");
    return;
  }
  var palette = ["#1f5fcc", "#2e9d5b", "#e3a008", "#d64545", "#7a5bd1", "#17a2b8", "#8c6d4f"];
  var charts = [];

  function option(panel) {
    var spec = panel.chart;
    var labels = panel.rows.map(function (r) { return String(r[spec.x]); });
    var base = { color: palette, tooltip: { trigger: spec.type === "pie" ? "item" : "axis" }, animation: false,
                 grid: { left: 8, right: 16, top: 28, bottom: 8, containLabel: true } };
    if (spec.type === "pie") {
      base.series = [{ type: "pie", radius: ["35%", "65%"], data: panel.rows.map(function (r) {
        return { name: String(r[spec.x]), value: r[spec.series[0]] };
      }), label: { formatter: "{b} {d}%" } }];
      return base;
    }
    var horizontal = !!spec.horizontal;
    var category = { type: "category", data: labels, axisLabel: { interval: horizontal ? 0 : "auto" } };
    var value = { type: "value" };
    if (horizontal) { category.inverse = true; }
    base.xAxis = horizontal ? value : category;
    base.yAxis = horizontal ? category : value;
    base.legend = spec.series.length > 1 ? { top: 0 } : undefined;
    base.series = spec.series.map(function (i) {
      return {
        name: panel.columns[i],
        type: spec.type === "line" ? "line" : "bar",
        stack: spec.type === "stack" ? "total" : undefined,
        smooth: false,
        areaStyle: spec.type === "line" ? { opacity: 0.12 } : undefined,
        showSymbol: labels.length <= 40,
        data: panel.rows.map(function (r) { return r[i]; }),
      };
    });
    return base;
  }

  document.querySelectorAll(".an-chart").forEach(function (el) {
    var panel = data[el.dataset.panel];
    if (!panel || !panel.chart || !panel.rows.length) return;
    var chart = echarts.init(el, null, { renderer: "svg" });
    chart.setOption(option(panel));
    el.dataset.ready = "1";
    charts.push(chart);
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
