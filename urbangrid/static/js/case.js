/* The case page's small map: the case's point and its grid. */
(function () {
  "use strict";
  var el = document.getElementById("case-map");
  if (!el || !window.L) return;
  var crs = UGCRS.make(el.dataset.tileCrs);
  var map = L.map(el, { preferCanvas: true, scrollWheelZoom: false });
  UGCRS.baseLayer(map, el.dataset.tiles);
  var gridNode = document.getElementById("case-grid");
  var grid = gridNode ? JSON.parse(gridNode.textContent) : null;
  var point = el.dataset.point ? JSON.parse(el.dataset.point) : null;
  var layer = null;
  // A view must exist before vector layers are added (the canvas renderer needs pixel bounds).
  map.setView(point ? crs.latLng(point[0], point[1]) : [34.25, 108.9], 17);
  if (grid) {
    layer = L.geoJSON(grid, { coordsToLatLng: crs.coordsToLatLng, style: { color: "#1f5fae", weight: 2, fillOpacity: 0.1 } }).addTo(map);
  }
  if (point) {
    L.circleMarker(crs.latLng(point[0], point[1]), { radius: 8, color: "#fff", weight: 2, fillColor: "#d23c3c", fillOpacity: 1 }).addTo(map);
  }
  if (layer) map.fitBounds(layer.getBounds(), { padding: [20, 20], maxZoom: 18 });
  else if (point) map.setView(crs.latLng(point[0], point[1]), 17);
  else { el.classList.add("empty"); el.textContent = el.dataset.empty || "—"; }
})();
