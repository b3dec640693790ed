/* Draws the dashboard's charts: each [data-chart] element names a <script type="application/json">
   holding {option, suffixes}; the option is handed to ECharts as it is (the server translated its
   labels), and series listed in `suffixes` get that suffix in their tooltip. No inline handlers:
   everything is wired here, and every chart follows the window's size. */
(function () {
  "use strict";

  function withSuffixes(option, suffixes) {
    Object.keys(suffixes || {}).forEach(function (index) {
      var series = option.series && option.series[Number(index)];
      if (series) {
        series.tooltip = series.tooltip || {};
        series.tooltip.valueFormatter = function (value) {
          return value === null || value === undefined ? "—" : value + suffixes[index];
        };
      }
    });
    return option;
  }

  function draw() {
    if (typeof window.echarts === "undefined") {
      return; /* the tables beside each chart carry the same numbers */
    }
    var charts = [];
    document.querySelectorAll("[data-chart]").forEach(function (element) {
      var source = document.getElementById(element.getAttribute("data-chart"));
      if (!source) {
        return;
      }
      var spec = JSON.parse(source.textContent);
      var chart = window.echarts.init(element);
      chart.setOption(withSuffixes(spec.option, spec.suffixes));
      charts.push(chart);
    });
    var pending = null;
    window.addEventListener("resize", function () {
      window.clearTimeout(pending);
      pending = window.setTimeout(function () {
        charts.forEach(function (chart) { chart.resize(); });
      }, 100);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
}());
