/* Hotline intake: pick the place by clicking the map or a search result; pick a suggested class. */
(function () {
  "use strict";
  var el = document.getElementById("intake-map");
  if (!el) return;
  var crs = UGCRS.make(el.dataset.tileCrs);
  var map = L.map(el, { preferCanvas: true });
  UGCRS.baseLayer(map, el.dataset.tiles);
  var lonIn = document.getElementById("id_lon"), latIn = document.getElementById("id_lat");
  var marker = null;
  map.setView([34.25, 108.9], 12);
  var streets = L.geoJSON(null, { coordsToLatLng: crs.coordsToLatLng, interactive: false,
    style: { color: "#1f5fae", weight: 1.5, fillOpacity: 0.05 } }).addTo(map);
  fetch(el.dataset.regionsUrl, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; })
    .then(function (fc) {
      if (fc && fc.features && fc.features.length) { streets.addData(fc); if (!marker) map.fitBounds(streets.getBounds()); }
    }).catch(function () {});
  function setPoint(lon, lat, zoom) {
    lonIn.value = lon.toFixed(7); latIn.value = lat.toFixed(7);
    var ll = crs.latLng(lon, lat);
    if (marker) marker.setLatLng(ll); else marker = L.marker(ll, { draggable: true }).addTo(map);
    marker.off("dragend").on("dragend", function () { var p = crs.fromLatLng(marker.getLatLng()); setPoint(p[0], p[1]); });
    if (zoom) map.setView(ll, zoom);
    document.body.dispatchEvent(new CustomEvent("point-changed"));
  }
  map.on("click", function (e) { var p = crs.fromLatLng(e.latlng); setPoint(p[0], p[1]); });
  if (lonIn.value && latIn.value) setPoint(parseFloat(lonIn.value), parseFloat(latIn.value), 17);
  document.getElementById("places").addEventListener("click", function (e) {
    var b = e.target.closest("[data-lon]");
    if (!b) return;
    setPoint(parseFloat(b.dataset.lon), parseFloat(b.dataset.lat), 17);
    var addr = document.getElementById("id_address");
    if (!addr.value || addr.value.length < b.dataset.label.length) addr.value = b.dataset.label;
    document.getElementById("places").innerHTML = "";
  });
  document.getElementById("suggestions").addEventListener("click", function (e) {
    var b = e.target.closest("[data-class]");
    if (!b) return;
    var sel = document.getElementById("id_class_code");
    sel.value = b.dataset.class;
    sel.dispatchEvent(new Event("change", { bubbles: true }));
  });
  // A point outside the jurisdiction is refused: the check says so, and the marker and the
  // hidden coordinates go, so that the form cannot look as if a place were picked.
  document.body.addEventListener("htmx:afterSwap", function (e) {
    if (e.target.id !== "intake-check" || !e.target.querySelector("[data-outside]")) return;
    if (marker) { map.removeLayer(marker); marker = null; }
    lonIn.value = ""; latIn.value = "";
  });
  window.UG_INTAKE = { setPoint: setPoint, map: map };
})();
