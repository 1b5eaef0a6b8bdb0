/* Grid worker's mobile pages: network status, the service worker, position, maps, the class
   picker and the report form with the offline outbox (offline-queue.js). */
(function () {
  "use strict";
  var body = document.body;
  var T = JSON.parse(document.getElementById("m-i18n").textContent);
  var net = document.getElementById("net-status"), qs = document.getElementById("queue-status");
  function showNet() {
    net.textContent = navigator.onLine ? net.dataset.online : net.dataset.offline;
    net.className = "net " + (navigator.onLine ? "on" : "off");
  }
  function showQueue() {
    return UGQueue.all().then(function (items) {
      qs.hidden = !items.length;
      qs.textContent = items.length + " " + T.pending;
      var box = document.getElementById("outbox"), list = document.getElementById("outbox-list");
      if (box && list) {
        box.hidden = !items.length;
        list.innerHTML = "";
        items.forEach(function (e) { var li = document.createElement("li"); li.textContent = e.label || e.id; list.appendChild(li); });
      }
      return items.length;
    }).catch(function () { return 0; });
  }
  var lastResult = null, again = false;
  function onSent(entry, res) {
    lastResult = res;
    if (res.data && res.data.proposed && !entry.fields.duplicate_choice) {
      // An open case of the same class is near: the worker says whether it is the same problem,
      // and the report goes out again with the answer.
      var n = res.data.proposed.number;
      entry.fields.duplicate_choice = window.confirm(res.data.error + "\n" + T.dupAsk) ? "link:" + n : "new";
      again = true;
      UGQueue.add(entry);
      return;
    }
    var out = document.getElementById("report-result");
    if (out && res.data) {
      out.className = res.ok ? "ok-box" : "error-box";
      out.textContent = res.ok ? (T.sent + " " + res.data.number + (res.data.duplicate ? "（" + T.dup + "）" : "")) :
        (T.failed + "：" + (res.data.error || res.status));
    }
    window.UG_LAST_SENT = res;
  }
  function sendAll() {
    return UGQueue.flush(onSent).then(function () { if (again) { again = false; return sendAll(); } });
  }
  function flush() {
    if (!navigator.onLine) return Promise.resolve();
    return sendAll().then(showQueue);
  }
  window.addEventListener("online", function () { showNet(); flush(); });
  window.addEventListener("offline", showNet);
  showNet(); showQueue().then(flush);
  if ("serviceWorker" in navigator && body.dataset.sw) {
    navigator.serviceWorker.register(body.dataset.sw, { scope: body.dataset.scope }).catch(function () {});
  }

  // --- maps and position ------------------------------------------------------------------------
  function makeMap(el) {
    var crs = UGCRS.make(el.dataset.tileCrs);
    var map = L.map(el, { preferCanvas: true, zoomControl: false });
    map.setView([34.25, 108.9], 13);
    UGCRS.baseLayer(map, el.dataset.tiles);
    return { map: map, crs: crs };
  }
  var pos = null, posMarker = null, view = null;
  function showPos(lon, lat, acc) {
    var p = document.getElementById("my-position") || document.getElementById("r-position");
    if (p) p.textContent = T.position + "：" + lon.toFixed(6) + ", " + lat.toFixed(6) + (acc ? "（" + T.accuracy + " " + Math.round(acc) + " m）" : "");
    if (view) {
      var ll = view.crs.latLng(lon, lat);
      if (posMarker) posMarker.setLatLng(ll);
      else posMarker = L.circleMarker(ll, { radius: 8, color: "#fff", weight: 2, fillColor: "#1f5fae", fillOpacity: 1 }).addTo(view.map);
    }
  }
  function setPoint(lon, lat, acc, fromGps) {
    pos = { lon: lon, lat: lat, gps: fromGps };
    var lo = document.getElementById("r-lon"), la = document.getElementById("r-lat");
    if (lo) { lo.value = lon.toFixed(7); la.value = lat.toFixed(7); }
    showPos(lon, lat, acc);
  }
  var home = document.getElementById("my-map");
  if (home) {
    view = makeMap(home);
    var fc = JSON.parse(document.getElementById("my-grids").textContent);
    var layer = L.geoJSON(fc, { coordsToLatLng: view.crs.coordsToLatLng, style: { color: "#1f5fae", weight: 2, fillOpacity: 0.12 },
      onEachFeature: function (f, l) { l.bindTooltip(f.properties.code); } }).addTo(view.map);
    if (layer.getLayers().length) view.map.fitBounds(layer.getBounds(), { padding: [16, 16] }); else view.map.setView([34.25, 108.9], 13);
  }
  var rmap = document.getElementById("report-map");
  if (rmap) {
    view = makeMap(rmap);
    view.map.setView([34.25, 108.9], 13);
    view.map.on("click", function (e) { var p = view.crs.fromLatLng(e.latlng); setPoint(p[0], p[1], null, false); });
  }
  var cm = document.getElementById("case-map-m");
  if (cm && cm.dataset.point !== "null") {
    var v = makeMap(cm), pt = JSON.parse(cm.dataset.point);
    var ll = v.crs.latLng(pt[0], pt[1]);
    v.map.setView(ll, 17);
    L.circleMarker(ll, { radius: 8, color: "#fff", weight: 2, fillColor: "#d23c3c", fillOpacity: 1 }).addTo(v.map);
  }
  if ((home || rmap) && navigator.geolocation) {
    var first = true;
    navigator.geolocation.watchPosition(function (p) {
      // The browser's Geolocation API reports WGS-84; it is sent with crs=wgs84.
      setPoint(p.coords.longitude, p.coords.latitude, p.coords.accuracy, true);
      if (first && view) { view.map.setView(view.crs.latLng(p.coords.longitude, p.coords.latitude), 17); first = false; }
    }, function () {
      var el = document.getElementById("my-position") || document.getElementById("r-position");
      if (el && !pos) el.textContent = T.noPosition;
    }, { enableHighAccuracy: true, maximumAge: 15000, timeout: 20000 });
  }

  // --- report form ------------------------------------------------------------------------------
  var form = document.getElementById("report-form");
  if (!form) return;
  var sel = document.getElementById("r-class"), search = document.getElementById("r-class-search");
  var options = Array.prototype.slice.call(sel.options);
  search.addEventListener("input", function () {
    var q = search.value.trim();
    options.forEach(function (o) { o.hidden = !!q && o.value !== "" && o.textContent.indexOf(q) < 0; });
    var firstHit = options.find(function (o) { return o.value && !o.hidden; });
    if (q && firstHit) sel.value = firstHit.value;
  });
  var desc = document.getElementById("r-desc"), sugg = document.getElementById("r-suggest"), timer = null;
  desc.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var text = desc.value.trim();
      if (text.length < 2 || !navigator.onLine) { sugg.innerHTML = ""; return; }
      fetch("suggest".replace(/^/, body.dataset.scope) + "?text=" + encodeURIComponent(text), { credentials: "same-origin" })
        .then(function (r) { return r.json(); }).then(function (d) {
          sugg.innerHTML = "";
          d.suggestions.forEach(function (s) {
            var b = document.createElement("button");
            b.type = "button"; b.className = "chip"; b.dataset.class = s.key; b.textContent = s.code + " " + s.name;
            b.addEventListener("click", function () { sel.value = s.key; toggleSelf(); });
            sugg.appendChild(b);
          });
        }).catch(function () { sugg.innerHTML = ""; });
    }, 350);
  });
  var self = document.getElementById("r-self"), selfFields = document.getElementById("r-self-fields");
  function toggleSelf() { selfFields.hidden = !self.checked; }
  self.addEventListener("change", toggleSelf);
  var err = document.getElementById("report-error"), out = document.getElementById("report-result");
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    err.textContent = ""; out.textContent = ""; out.className = "";
    var lon = document.getElementById("r-lon").value, lat = document.getElementById("r-lat").value;
    if (!lon || !lat) { err.textContent = T.noPosition; return; }
    if (!desc.value.trim() && !sel.value) { err.textContent = T.needDesc; return; }
    var photos = document.getElementById("r-photos").files, after = document.getElementById("r-after").files;
    if (self.checked && (!photos.length || !after.length)) { err.textContent = T.needAfter; return; }
    var fields = {};
    new FormData(form).forEach(function (v, k) { if (typeof v === "string" && k !== "csrfmiddlewaretoken") fields[k] = v; });
    var files = [];
    Array.prototype.forEach.call(photos, function (f) { files.push({ name: "photos", blob: f, filename: f.name }); });
    if (self.checked) Array.prototype.forEach.call(after, function (f) { files.push({ name: "photos_after", blob: f, filename: f.name }); });
    var entry = { id: UGQueue.uuid(), url: form.action, fields: fields, files: files, created: Date.now(),
      label: (sel.value ? sel.options[sel.selectedIndex].textContent + " · " : "") + desc.value.trim().slice(0, 30) };
    var button = document.getElementById("r-submit");
    button.disabled = true;
    // Stored first: whatever happens to the network now, the report is not lost.
    UGQueue.add(entry).then(function () {
      form.reset(); toggleSelf(); sugg.innerHTML = "";
      if (pos) setPoint(pos.lon, pos.lat, null, pos.gps);
      if (!navigator.onLine) { out.className = "warn-box"; out.textContent = T.queued; return showQueue(); }
      out.textContent = T.sending;
      return sendAll().then(showQueue).then(function (n) {
        if (n) { out.className = "warn-box"; out.textContent = T.queued; }
      });
    }).finally(function () { button.disabled = false; });
  });
})();
