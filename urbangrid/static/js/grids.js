/* Grid management maps: a region's grids with the coverage proof (gaps red, overlaps orange),
   one grid's versions, and the import preview. */
(function () {
  "use strict";
  function base(el) {
    var crs = UGCRS.make(el.dataset.tileCrs);
    var map = L.map(el, { preferCanvas: true });
    map.setView([34.25, 108.9], 12);
    UGCRS.baseLayer(map, el.dataset.tiles);
    return { map: map, crs: crs };
  }
  var T = {};
  var tn = document.getElementById("grids-i18n");
  if (tn) T = JSON.parse(tn.textContent);

  var g = document.getElementById("grids-map");
  if (g) {
    var m = base(g), map = m.map, crs = m.crs;
    var b = JSON.parse(g.dataset.bbox);
    map.fitBounds([crs.latLng(b[0], b[1]), crs.latLng(b[2], b[3])]);
    var gridLayer = L.geoJSON(null, { coordsToLatLng: crs.coordsToLatLng,
      style: { color: "#5d7390", weight: 1, fillColor: "#dfe7f1", fillOpacity: 0.3 },
      onEachFeature: function (f, l) {
        l.bindTooltip(f.properties.code);
        l.on("click", function () { window.location = g.dataset.detailUrl.replace("CODE", f.properties.code); });
      } }).addTo(map);
    var findings = L.geoJSON(null, { coordsToLatLng: crs.coordsToLatLng,
      style: function (f) { return { color: /overlap/.test(f.properties.kind) ? "#e07000" : "#d23c3c", weight: 2, fillOpacity: 0.6 }; },
      onEachFeature: function (f, l) { l.bindTooltip(f.properties.label + " " + f.properties.area_m2 + " m²"); } }).addTo(map);
    var load = function () {
      var bb = map.getBounds(), sw = crs.fromLatLng(bb.getSouthWest()), ne = crs.fromLatLng(bb.getNorthEast());
      fetch(g.dataset.gridsUrl + "?bbox=" + [sw[0], sw[1], ne[0], ne[1]].join(",") + "&zoom=" + map.getZoom(), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : { features: [] }; })
        .then(function (fc) { gridLayer.clearLayers(); gridLayer.addData(fc); }).catch(function () {});
    };
    map.on("moveend", load); load();
    var btn = document.getElementById("run-coverage"), out = document.getElementById("coverage-result");
    btn.addEventListener("click", function () {
      out.textContent = T.checking; btn.disabled = true;
      fetch(btn.dataset.url, { credentials: "same-origin" }).then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (rep) {
          findings.clearLayers();
          var feats = rep.findings.filter(function (f) { return f.geometry; }).map(function (f) {
            return { type: "Feature", geometry: f.geometry, properties: f }; });
          findings.addData({ type: "FeatureCollection", features: feats });
          var html = "<p class='" + (rep.ok ? "ok" : "field-error") + "'>" + (rep.ok ? T.ok :
            rep.findings.length + " " + T.findings + " · " + T.area + " " + rep.total_area_m2 + " m²") +
            " <span class='muted small'>(" + rep.grids + " " + T.grids + ", " + rep.seconds + " s)</span></p>";
          if (!rep.ok) html += "<ul class='small'>" + rep.findings.slice(0, 30).map(function (f) {
            var li = document.createElement("li"); li.textContent = f.label + "：" + f.area_m2 + " m² " + f.codes.slice(0, 4).join(", ");
            return li.outerHTML; }).join("") + "</ul>";
          out.innerHTML = html;
          window.UG_COVERAGE = rep;
        }).catch(function () { out.textContent = T.failed; }).finally(function () { btn.disabled = false; });
    });
  }
  function fitGeo(el, node) {
    var m = base(el);
    var data = JSON.parse(document.getElementById(node).textContent);
    if (typeof data === "string") data = JSON.parse(data);
    var layer = L.geoJSON(data, { coordsToLatLng: m.crs.coordsToLatLng,
      style: function (f) { return { color: f.properties && f.properties.current === false ? "#999" : "#1f5fae", weight: 2,
        dashArray: f.properties && f.properties.current === false ? "4 4" : null, fillOpacity: 0.15 }; },
      onEachFeature: function (f, l) { if (f.properties && f.properties.code) l.bindTooltip(String(f.properties.code)); } }).addTo(m.map);
    if (layer.getLayers().length) m.map.fitBounds(layer.getBounds(), { padding: [10, 10] }); else m.map.setView([34.25, 108.9], 12);
  }
  var d = document.getElementById("grid-map");
  if (d) fitGeo(d, "grid-geojson");
  var p = document.getElementById("import-map");
  if (p) fitGeo(p, "import-preview");
})();
