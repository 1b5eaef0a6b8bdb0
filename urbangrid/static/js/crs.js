/* Display conversions for Chinese base maps. Data are canonical (CGCS2000 ≈ WGS-84); only when a
   GCJ-02 or BD-09 tile server is configured are coordinates shifted for display, and map clicks
   shifted back (iteratively: GCJ-02 has no closed-form inverse). */
(function (root) {
  "use strict";
  var A = 6378245.0, EE = 0.00669342162296594323, XPI = Math.PI * 3000.0 / 180.0;
  function outOfChina(lon, lat) { return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271; }
  function tLat(x, y) {
    var r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    r += (20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0 / 3.0;
    r += (20.0 * Math.sin(y * Math.PI) + 40.0 * Math.sin(y / 3.0 * Math.PI)) * 2.0 / 3.0;
    r += (160.0 * Math.sin(y / 12.0 * Math.PI) + 320 * Math.sin(y * Math.PI / 30.0)) * 2.0 / 3.0;
    return r;
  }
  function tLon(x, y) {
    var r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    r += (20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0 / 3.0;
    r += (20.0 * Math.sin(x * Math.PI) + 40.0 * Math.sin(x / 3.0 * Math.PI)) * 2.0 / 3.0;
    r += (150.0 * Math.sin(x / 12.0 * Math.PI) + 300.0 * Math.sin(x / 30.0 * Math.PI)) * 2.0 / 3.0;
    return r;
  }
  function wgsToGcj(lon, lat) {
    if (outOfChina(lon, lat)) return [lon, lat];
    var dLat = tLat(lon - 105.0, lat - 35.0), dLon = tLon(lon - 105.0, lat - 35.0);
    var radLat = lat / 180.0 * Math.PI, magic = Math.sin(radLat);
    magic = 1 - EE * magic * magic;
    var s = Math.sqrt(magic);
    dLat = (dLat * 180.0) / ((A * (1 - EE)) / (magic * s) * Math.PI);
    dLon = (dLon * 180.0) / (A / s * Math.cos(radLat) * Math.PI);
    return [lon + dLon, lat + dLat];
  }
  function gcjToWgs(lon, lat) {
    var x = lon, y = lat;
    for (var i = 0; i < 20; i++) {
      var g = wgsToGcj(x, y), dx = g[0] - lon, dy = g[1] - lat;
      x -= dx; y -= dy;
      if (Math.abs(dx) < 1e-10 && Math.abs(dy) < 1e-10) break;
    }
    return [x, y];
  }
  function gcjToBd(lon, lat) {
    var z = Math.sqrt(lon * lon + lat * lat) + 0.00002 * Math.sin(lat * XPI);
    var t = Math.atan2(lat, lon) + 0.000003 * Math.cos(lon * XPI);
    return [z * Math.cos(t) + 0.0065, z * Math.sin(t) + 0.006];
  }
  function bdToGcj(lon, lat) {
    var x = lon, y = lat;
    for (var i = 0; i < 20; i++) {
      var b = gcjToBd(x, y), dx = b[0] - lon, dy = b[1] - lat;
      x -= dx; y -= dy;
      if (Math.abs(dx) < 1e-11 && Math.abs(dy) < 1e-11) break;
    }
    return [x, y];
  }
  function make(crs) {
    crs = crs || "wgs84";
    var to = function (lon, lat) { return [lon, lat]; }, from = to;
    if (crs === "gcj02") { to = wgsToGcj; from = gcjToWgs; }
    if (crs === "bd09") {
      to = function (lon, lat) { var g = wgsToGcj(lon, lat); return gcjToBd(g[0], g[1]); };
      from = function (lon, lat) { var g = bdToGcj(lon, lat); return gcjToWgs(g[0], g[1]); };
    }
    return {
      identity: crs === "wgs84" || crs === "cgcs2000" || !crs,
      toDisplay: to, fromDisplay: from,
      /* A Leaflet coordsToLatLng for L.geoJSON. */
      coordsToLatLng: function (c) { var d = to(c[0], c[1]); return L.latLng(d[1], d[0]); },
      latLng: function (lon, lat) { var d = to(lon, lat); return L.latLng(d[1], d[0]); },
      fromLatLng: function (ll) { return from(ll.lng, ll.lat); }
    };
  }
  /* A base layer: tiles when configured, otherwise nothing (plain background, works offline). */
  function baseLayer(map, url) {
    if (url) L.tileLayer(url, { maxZoom: 19, attribution: "" }).addTo(map);
  }
  root.UGCRS = { make: make, baseLayer: baseLayer, wgsToGcj: wgsToGcj, gcjToWgs: gcjToWgs };
})(window);
