/* The bar charts of the statistical reports: every `.report-chart` element (written by
 * reports/render_html.py) holds its data as JSON in `data-chart`:
 * {title, series, unit, categories: [unit names], values: [numbers or null]}.
 * Drawn with Apache ECharts (vendor/echarts/echarts.min.js, loaded before this file) with
 * the SVG renderer; no inline script and no eval, as the portal's Content Security Policy
 * requires. A null value (a rate without a denominator) is drawn as no bar. */
(function () {
  "use strict";

  function option(data) {
    var unit = data.unit ? " (" + data.unit + ")" : "";
    return {
      title: { text: data.title, left: "center", textStyle: { fontSize: 14 } },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      grid: { left: 48, right: 16, top: 48, bottom: 24, containLabel: true },
      xAxis: {
        type: "category",
        data: data.categories,
        axisLabel: { interval: 0, rotate: data.categories.length > 8 ? 40 : 0 }
      },
      yAxis: { type: "value", name: unit.trim() },
      series: [{ name: data.series, type: "bar", data: data.values, barMaxWidth: 40 }]
    };
  }

  function draw(el) {
    var data;
    try {
      data = JSON.parse(el.getAttribute("data-chart"));
    } catch (e) {
      return; // a broken data attribute leaves the table, which carries the same numbers
    }
    if (!el.style.height) {
      el.style.height = "360px";
    }
    var chart = window.echarts.init(el, null, { renderer: "svg" });
    chart.setOption(option(data));
    window.addEventListener("resize", function () {
      chart.resize();
    });
  }

  function init() {
    if (!window.echarts) {
      return;
    }
    Array.prototype.forEach.call(document.querySelectorAll(".report-chart"), draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
