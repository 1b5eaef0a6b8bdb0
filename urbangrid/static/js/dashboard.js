/* Dashboards: ECharts over the aggregates rendered into the page, and a leaflet.heat map. */
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("charts-data").textContent);
  var T = JSON.parse(document.getElementById("dash-i18n").textContent);
  var charts = [];
  function chart(id, option) {
    var node = document.getElementById(id);
    if (!node) return;
    var c = echarts.init(node, null, { renderer: "canvas" });
    c.setOption(Object.assign({ tooltip: { trigger: "axis" }, grid: { left: 48, right: 16, top: 30, bottom: 60 },
      color: ["#1f5fae", "#2e9d57", "#e0a100", "#d23c3c", "#7a8ca3"] }, option));
    charts.push(c);
  }
  function col(rows, i) { return rows.map(function (r) { return r[i]; }); }
  var t = D.by_time;
  chart("chart-by_time", { legend: { data: [T.reported, T.closed] }, xAxis: { type: "category", data: col(t.rows, 0) },
    yAxis: { type: "value", minInterval: 1 }, dataZoom: [{ type: "inside" }],
    series: [{ name: T.reported, type: "line", smooth: true, data: col(t.rows, 1), areaStyle: { opacity: 0.1 } },
             { name: T.closed, type: "line", smooth: true, data: col(t.rows, 2) }] });
  var s = D.status;
  chart("chart-status", { tooltip: { trigger: "item" }, legend: { bottom: 0 },
    series: [{ type: "pie", radius: ["40%", "68%"], data: s.rows.map(function (r) { return { name: r[0], value: r[1] }; }) }] });
  var k = D.by_class;
  chart("chart-by_class", { grid: { left: 110, right: 16, top: 30, bottom: 30 }, legend: { data: [T.reported, T.closed] },
    yAxis: { type: "category", data: col(k.rows, 1).slice(0, 12).reverse() }, xAxis: { type: "value", minInterval: 1 },
    series: [{ name: T.reported, type: "bar", data: col(k.rows, 2).slice(0, 12).reverse() },
             { name: T.closed, type: "bar", data: col(k.rows, 3).slice(0, 12).reverse() }] });
  var a = D.by_area;
  chart("chart-by_area", { legend: { data: [T.reported, T.open, T.closed] },
    xAxis: { type: "category", data: col(a.rows, 1), axisLabel: { rotate: 30 } }, yAxis: { type: "value", minInterval: 1 },
    series: [{ name: T.reported, type: "bar", data: col(a.rows, 2) }, { name: T.open, type: "bar", data: col(a.rows, 3) },
             { name: T.closed, type: "bar", data: col(a.rows, 4) }] });
  var r = D.rates;
  chart("chart-rates", { grid: { left: 190, right: 30, top: 20, bottom: 30 }, xAxis: { type: "value", max: 100 },
    yAxis: { type: "category", data: col(r.rows, 0).reverse() },
    series: [{ name: T.rate, type: "bar", data: col(r.rows, 3).reverse(), label: { show: true, position: "right" } }] });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });

  var hm = document.getElementById("heat-map");
  if (hm && window.L) {
    var crs = UGCRS.make(hm.dataset.tileCrs);
    var map = L.map(hm, { preferCanvas: true });
    UGCRS.baseLayer(map, hm.dataset.tiles);
    map.setView([34.25, 108.9], 11);
    fetch(hm.dataset.url, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (d) {
      if (!d.points.length) { hm.classList.add("empty-map"); hm.setAttribute("data-empty", T.empty); return; }
      var pts = d.points.map(function (p) { var ll = crs.latLng(p[1], p[0]); return [ll.lat, ll.lng, 1]; });
      L.heatLayer(pts, { radius: 14, blur: 16, maxZoom: 16 }).addTo(map);
      map.fitBounds(L.latLngBounds(pts.map(function (p) { return [p[0], p[1]]; })), { padding: [10, 10] });
    }).catch(function () {});
  }
  window.UG_DASH = { charts: charts.length };
})();
