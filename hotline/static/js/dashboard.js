/* The dashboard's charts (Apache ECharts, served from this site).
 *
 * The numbers and their labels, already in the page's language, come in the JSON block #dashboard-data that the
 * server renders: a data block is never executed, so the page needs no inline script under its strict
 * Content-Security-Policy.  Each element with data-chart="<name>" gets the chart of that name.
 */
(function () {
  "use strict";

  var source = document.getElementById("dashboard-data");
  if (!source || typeof window.echarts === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var labels = data.labels;
  var RED = "#b4141e";
  var COLOURS = [RED, "#2f6fb0", "#e8a33d", "#1e7a3c", "#6f42c1", "#5a6570", "#d63384", "#20c997"];

  function isEmpty(series) {
    return !series || series.total.length === 0;
  }

  function emptyNote() {
    return {
      type: "text",
      left: "center",
      top: "middle",
      style: { text: labels.empty, fill: "#6c757d", fontSize: 14 },
    };
  }

  function axes(names, rotate) {
    return {
      xAxis: {
        type: "category",
        data: names,
        axisLabel: { interval: 0, rotate: rotate ? 30 : 0, hideOverlap: true },
      },
      yAxis: [
        { type: "value", name: labels.count, minInterval: 1 },
        { type: "value", name: labels.percent, min: 0, max: 100, splitLine: { show: false } },
      ],
    };
  }

  function rateLine(name, values, colour) {
    // A month or group with nothing to rate has no point (null), never a 0 % point.
    return {
      name: name,
      type: "line",
      yAxisIndex: 1,
      data: values,
      connectNulls: false,
      symbolSize: 6,
      itemStyle: { color: colour },
    };
  }

  function trend(series) {
    var option = axes(series.names, false);
    option.series = [
      { name: labels.total, type: "bar", data: series.total, itemStyle: { color: "#9aa7b5" } },
      rateLine(labels.closure_rate, series.closure_rate, RED),
      rateLine(labels.satisfaction_rate, series.satisfaction_rate, "#2f6fb0"),
    ];
    return option;
  }

  function groups(series) {
    var option = axes(series.names, series.names.length > 4);
    option.series = [
      { name: labels.total, type: "bar", data: series.total, itemStyle: { color: "#9aa7b5" } },
      { name: labels.resolved, type: "bar", data: series.resolved, itemStyle: { color: "#1e7a3c" } },
      rateLine(labels.closure_rate, series.closure_rate, RED),
    ];
    return option;
  }

  function shares(series) {
    return {
      series: [
        {
          name: labels.total,
          type: "pie",
          radius: ["35%", "65%"],
          data: series.names.map(function (name, i) {
            return { name: name, value: series.total[i] };
          }),
          label: { formatter: "{b}: {c} ({d}%)" },
        },
      ],
    };
  }

  function fieldWork(series) {
    // Requests raised at tea meetings, roundtables and visits per month, and the closure rate of the field
    // work beside the web form's.
    var option = axes(series.names, false);
    var BARS = ["#e8a33d", "#2f6fb0", "#1e7a3c"];
    option.series = series.channels.map(function (channel, i) {
      return {
        name: channel.name,
        type: "bar",
        stack: "field",
        data: channel.values,
        itemStyle: { color: BARS[i % BARS.length] },
      };
    });
    option.series.push(rateLine(series.field_closure_label, series.field_closure_rate, RED));
    option.series.push(rateLine(series.web_closure_label, series.web_closure_rate, "#5a6570"));
    return option;
  }

  var BUILDERS = {
    trend: trend,
    category: groups,
    street: groups,
    building: groups,
    channel: shares,
    field: fieldWork,
  };
  var charts = [];

  document.querySelectorAll("[data-chart]").forEach(function (element) {
    var name = element.getAttribute("data-chart");
    var series = data[name];
    var build = BUILDERS[name];
    if (!build || !series) {
      return;
    }
    var option = isEmpty(series) ? { graphic: [emptyNote()] } : build(series);
    option.color = COLOURS;
    option.animation = false;
    option.aria = { enabled: true };
    option.grid = { left: 48, right: 48, top: 48, bottom: 64, containLabel: true };
    option.legend = { top: 0 };
    // The HTML tooltip writes style attributes, which the CSP forbids: the tooltip is drawn on the canvas.
    option.tooltip = { trigger: name === "channel" ? "item" : "axis", renderMode: "richText" };
    var chart = window.echarts.init(element, null, { renderer: "canvas" });
    chart.setOption(option);
    charts.push(chart);
  });

  window.addEventListener("resize", function () {
    charts.forEach(function (chart) {
      chart.resize();
    });
  });
})();
