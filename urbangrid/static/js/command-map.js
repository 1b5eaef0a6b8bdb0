/* The command-centre map: regions and grids by viewport and zoom from the geo API, open cases
   from the console's compact endpoint (aggregated server-side when zoomed out, clustered
   client-side when zoomed in), filters, and side panels loaded with htmx. */
(function () {
  "use strict";
  var el = document.getElementById("map");
  if (!el) return;
  var T = JSON.parse(document.getElementById("map-i18n").textContent);
  var STATE_LABELS = JSON.parse(document.getElementById("state-labels").textContent);
  var crs = UGCRS.make(el.dataset.tileCrs);
  var GRID_MIN_ZOOM = 15, COMMUNITY_MIN_ZOOM = 13, LABEL_MIN_ZOOM = 17;
  var SEV_COLORS = ["#2e9d57", "#e0a100", "#d23c3c"];
  var renderer = L.canvas({ padding: 0.3 });
  var map = L.map(el, { preferCanvas: true, renderer: renderer, minZoom: 8, maxZoom: 19 });
  UGCRS.baseLayer(map, el.dataset.tiles);
  var bbox = JSON.parse(document.getElementById("home-bbox").textContent);
  if (bbox) map.fitBounds([crs.latLng(bbox[0], bbox[1]), crs.latLng(bbox[2], bbox[3])]);
  else map.setView([34.25, 108.9], 12);

  var state = window.UG_MAP = { gridsPainted: 0, casesShown: 0, totalCases: 0, mode: "", loads: 0, errors: 0 };
  var status = document.getElementById("map-status");
  var regionLayer = L.geoJSON(null, { coordsToLatLng: crs.coordsToLatLng, interactive: false, renderer: renderer,
    style: { color: "#1f5fae", weight: 2, fill: false, opacity: 0.7 } }).addTo(map);
  var gridLayer = L.geoJSON(null, {
    coordsToLatLng: crs.coordsToLatLng, renderer: renderer,
    style: { color: "#7a8ca3", weight: 1, fillColor: "#dfe7f1", fillOpacity: 0.25 },
    onEachFeature: function (f, layer) {
      layer.on("click", function () { openPanel(el.dataset.gridUrl.replace("CODE", f.properties.code)); });
    }
  }).addTo(map);
  var labelLayer = L.layerGroup().addTo(map);
  var cluster = L.markerClusterGroup({ chunkedLoading: true, showCoverageOnHover: false, maxClusterRadius: 50,
    disableClusteringAtZoom: 18, iconCreateFunction: clusterIcon });
  map.addLayer(cluster);
  var cellLayer = L.layerGroup().addTo(map);

  function clusterIcon(c) {
    var worst = 0;
    c.getAllChildMarkers().forEach(function (m) { if (m.options.sev > worst) worst = m.options.sev; });
    return countIcon(c.getChildCount(), worst);
  }
  function countIcon(n, sev) {
    var size = n < 100 ? 34 : n < 1000 ? 40 : 48;
    return L.divIcon({ html: "<span style=\"line-height:" + size + "px\">" + n + "</span>", className: "ug-cluster sev" + sev,
      iconSize: [size, size] });
  }
  function filters() {
    var p = new URLSearchParams();
    new FormData(document.getElementById("map-filters")).forEach(function (v, k) { if (v) p.set(k, v); });
    return p;
  }
  function viewBbox() {
    var b = map.getBounds();
    var sw = crs.fromLatLng(b.getSouthWest()), ne = crs.fromLatLng(b.getNorthEast());
    return [sw[0], sw[1], ne[0], ne[1]].map(function (v) { return v.toFixed(6); }).join(",");
  }
  function setStatus() {
    var txt = state.totalCases + " " + T.cases + (state.mode === "cells" ? "（" + T.aggregated + "）" : "");
    status.textContent = txt;
  }
  var gridCtl = null, caseCtl = null;
  function fail(err) {
    if (err && err.name === "AbortError") return;
    state.errors++;
    status.textContent = T.error;
  }
  function loadGrids() {
    if (gridCtl) gridCtl.abort();
    var z = map.getZoom();
    if (z < GRID_MIN_ZOOM) { gridLayer.clearLayers(); labelLayer.clearLayers(); return Promise.resolve(); }
    gridCtl = new AbortController();
    var url = el.dataset.gridsUrl + "?bbox=" + viewBbox() + "&zoom=" + z;
    return fetch(url, { signal: gridCtl.signal, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (fc) {
        gridLayer.clearLayers(); labelLayer.clearLayers();
        gridLayer.addData(fc);
        state.gridsPainted = fc.features.length;
        if (map.getZoom() >= LABEL_MIN_ZOOM && fc.features.length <= 600) {
          gridLayer.eachLayer(function (l) {
            labelLayer.addLayer(L.marker(l.getBounds().getCenter(), { interactive: false, keyboard: false,
              icon: L.divIcon({ className: "grid-label", html: l.feature.properties.code.slice(-6), iconSize: [60, 14] }) }));
          });
        }
        if (!state.firstGrids) { state.firstGrids = performance.now(); performance.mark("ug-grids"); }
      }).catch(fail);
  }
  // Street/town outlines always; community/village outlines from COMMUNITY_MIN_ZOOM; unit grids
  // (thousands) only from GRID_MIN_ZOOM, by viewport and simplified by zoom on the server.
  var communityLayer = L.geoJSON(null, { coordsToLatLng: crs.coordsToLatLng, interactive: false, renderer: renderer,
    style: { color: "#5d7390", weight: 1, dashArray: "3 3", fill: false } });
  var communitiesLoaded = false;
  function loadRegions() {
    return fetch(el.dataset.regionsUrl + "?level=3", { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (fc) { regionLayer.addData(fc); if (!state.firstRegions) { state.firstRegions = performance.now(); performance.mark("ug-regions"); } })
      .catch(fail);
  }
  function showCommunities() {
    var z = map.getZoom();
    if (z >= COMMUNITY_MIN_ZOOM && z < GRID_MIN_ZOOM) {
      if (!map.hasLayer(communityLayer)) communityLayer.addTo(map);
      if (!communitiesLoaded) {
        communitiesLoaded = true;
        fetch(el.dataset.regionsUrl + "?level=4", { credentials: "same-origin" })
          .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
          .then(function (fc) { communityLayer.addData(fc); }).catch(function (e) { communitiesLoaded = false; fail(e); });
      }
    } else if (map.hasLayer(communityLayer)) {
      map.removeLayer(communityLayer);
    }
  }
  function loadCases() {
    if (caseCtl) caseCtl.abort();
    caseCtl = new AbortController();
    var p = filters();
    p.set("bbox", viewBbox()); p.set("zoom", map.getZoom());
    status.textContent = T.loading;
    return fetch(el.dataset.casesUrl + "?" + p.toString(), { signal: caseCtl.signal, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (d) {
        cluster.clearLayers(); cellLayer.clearLayers();
        state.mode = d.mode; state.totalCases = d.total;
        if (d.mode === "cells") {
          d.cells.forEach(function (c) {
            var sev = c[3] ? 2 : c[4] ? 1 : 0;
            var m = L.marker(crs.latLng(c[0], c[1]), { icon: countIcon(c[2], sev), title: c[2] + " " + T.cases +
              (c[3] ? "，" + c[3] + " " + T.overdue : "") + (c[4] ? "，" + c[4] + " " + T.warning : "") });
            m.on("click", function () { map.setView(m.getLatLng(), Math.min(map.getZoom() + 2, 18)); });
            cellLayer.addLayer(m);
          });
          state.casesShown = d.cells.reduce(function (s, c) { return s + c[2]; }, 0);
        } else {
          var markers = d.points.map(function (p) {
            var m = L.circleMarker(crs.latLng(p[1], p[2]), { renderer: renderer, radius: 6, weight: 1, color: "#fff",
              fillColor: SEV_COLORS[p[4]], fillOpacity: 0.95, sev: p[4] });
            m.bindTooltip(p[0] + " · " + (STATE_LABELS[d.states[p[3]]] || ""));
            m.on("click", function () { openPanel(el.dataset.panelUrl.replace("NUMBER", p[0])); });
            return m;
          });
          cluster.addLayers(markers);
          state.casesShown = markers.length;
        }
        setStatus();
        state.loads++;
        if (!state.firstCases) { state.firstCases = performance.now(); performance.mark("ug-cases"); }
      }).catch(fail);
  }
  var panel = document.getElementById("side-panel");
  function openPanel(url) {
    panel.hidden = false;
    htmx.ajax("GET", url, { target: "#side-panel", swap: "innerHTML" });
  }
  panel.addEventListener("click", function (ev) {
    if (ev.target.closest("[data-close-panel]")) { panel.hidden = true; panel.innerHTML = ""; }
    var a = ev.target.closest("[data-case]");
    if (a) { ev.preventDefault(); openPanel(el.dataset.panelUrl.replace("NUMBER", a.dataset.case)); }
  });
  document.body.addEventListener("case-changed", function () { loadCases(); });
  var timer = null;
  function refresh() {
    clearTimeout(timer);
    timer = setTimeout(function () { showCommunities(); loadGrids(); loadCases(); }, 150);
  }
  map.on("moveend", refresh);
  document.getElementById("map-filters").addEventListener("change", function () { loadCases(); });
  document.getElementById("map-filters").addEventListener("submit", function (e) { e.preventDefault(); loadCases(); });
  loadRegions(); loadGrids(); loadCases();
  // A tiny handle for tests and the benchmark (bench/console) to drive the view.
  window.UG_MAP_API = { map: map, setZoom: function (z) { map.setZoom(z); }, reload: refresh };
  // Live: open cases change all day; refresh them every minute while the page is visible.
  setInterval(function () { if (!document.hidden) loadCases(); }, 60000);
})();
