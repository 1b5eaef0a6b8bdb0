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
      var waiting = items.filter(function (e) { return !e.refused; }).length;
      qs.hidden = !waiting;
      qs.textContent = waiting + " " + T.pending;
      var box = document.getElementById("outbox"), list = document.getElementById("outbox-list");
      if (box && list) {
        box.hidden = !items.length;
        list.innerHTML = "";
        items.forEach(function (e) {
          var li = document.createElement("li");
          li.textContent = e.label || e.id;
          if (e.refused) {
            li.className = "refused";
            var why = document.createElement("div");
            why.className = "error-box";
            why.textContent = T.failed + "：" + (e.refused.error || e.refused.status);
            li.appendChild(why);
            var fix = document.createElement("a");
            fix.className = "btn btn-light"; fix.textContent = T.fix;
            fix.href = body.dataset.scope + "report/#edit=" + encodeURIComponent(e.id);
            li.appendChild(fix);
          }
          list.appendChild(li);
        });
      }
      return waiting;
    }).catch(function () { return 0; });
  }
  var onResult = null; // the report form's handler of the answer to what it just sent
  var again = false;
  function onSent(entry, res) {
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
    if (out && res.data && res.ok) {
      out.className = "ok-box";
      out.textContent = T.sent + " " + res.data.number + (res.data.duplicate ? "（" + T.dup + "）" : "");
    }
    if (onResult) onResult(entry, res);
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
      fetch(body.dataset.scope + "suggest", { method: "POST", body: new URLSearchParams({ text: text }),
        credentials: "same-origin", headers: { "X-CSRFToken": UGQueue.csrf() } })
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
  var photosInput = document.getElementById("r-photos"), afterInput = document.getElementById("r-after");
  var editing = null; // the outbox id of the refused report now in the form

  // Phone photos (8-15 MB) are larger than the server takes: downscale them here, before they
  // are stored in the outbox. Anything the browser cannot decode is sent as it is, so that the
  // server can say what is wrong with it.
  var MAX_SIDE = 2048, KEEP_BYTES = 1024 * 1024;
  function shrink(file) {
    if (!/^image\//.test(file.type) || !window.createImageBitmap) return Promise.resolve(file);
    return createImageBitmap(file, { imageOrientation: "from-image" }).then(function (img) {
      var scale = Math.min(1, MAX_SIDE / Math.max(img.width, img.height));
      if (scale === 1 && file.size <= KEEP_BYTES) { img.close(); return file; }
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(img.width * scale); canvas.height = Math.round(img.height * scale);
      canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
      img.close();
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) {
          resolve(blob ? new File([blob], file.name.replace(/\.\w+$/, "") + ".jpg", { type: "image/jpeg" }) : file);
        }, "image/jpeg", 0.85);
      });
    }).catch(function () { return file; });
  }
  // When and where each photo was taken, read from its EXIF before downscaling drops it:
  // DateTimeOriginal (camera local time) and the GPS position; else the file's time and the
  // phone's position now (a photo just taken with the camera).
  function exifOf(file) {
    return file.slice(0, 256 * 1024).arrayBuffer().then(function (buf) {
      var v = new DataView(buf), off = 2, out = {};
      if (v.byteLength < 4 || v.getUint16(0) !== 0xFFD8) return out;
      while (off + 4 <= v.byteLength) {
        var marker = v.getUint16(off), size = v.getUint16(off + 2);
        if (marker === 0xFFE1 && v.getUint32(off + 4) === 0x45786966) { return readTiff(v, off + 10, out); }
        if ((marker & 0xFF00) !== 0xFF00) break;
        off += 2 + size;
      }
      return out;
    }).catch(function () { return {}; });
  }
  function readTiff(v, t, out) {
    var le = v.getUint16(t) === 0x4949;
    function u16(o) { return v.getUint16(t + o, le); }
    function u32(o) { return v.getUint32(t + o, le); }
    function tags(ifd) {
      var n = u16(ifd), map = {};
      for (var i = 0; i < n; i++) { var e = ifd + 2 + i * 12; map[u16(e)] = { count: u32(e + 4), at: e + 8 }; }
      return map;
    }
    function ascii(tag) { var o = tag.count > 4 ? u32(tag.at) : tag.at, s = ""; for (var i = 0; i < tag.count - 1; i++) s += String.fromCharCode(v.getUint8(t + o + i)); return s; }
    function dms(tag) { var o = u32(tag.at), r = function (k) { return u32(o + 8 * k) / u32(o + 8 * k + 4); }; return r(0) + r(1) / 60 + r(2) / 3600; }
    var ifd0 = tags(u32(4));
    if (ifd0[0x8769]) {
      var ex = tags(u32(ifd0[0x8769].at)), d = ex[0x9003] || ex[0x9004];
      var m = d && ascii(d).match(/^(\d{4}):(\d\d):(\d\d) (\d\d:\d\d:\d\d)/);
      if (m) out.taken_at = m[1] + "-" + m[2] + "-" + m[3] + "T" + m[4];
    }
    if (ifd0[0x8825]) {
      var g = tags(u32(ifd0[0x8825].at));
      if (g[2] && g[4]) {
        out.lat = dms(g[2]) * (g[1] && ascii(g[1]) === "S" ? -1 : 1);
        out.lon = dms(g[4]) * (g[3] && ascii(g[3]) === "W" ? -1 : 1);
      }
    }
    return out;
  }
  function metaOf(file) {
    return exifOf(file).then(function (e) {
      var place = isFinite(e.lon) && isFinite(e.lat) ? e : pos; // a camera's bad GPS tag is no place
      return {
        taken_at: e.taken_at || new Date(file.lastModified || Date.now()).toISOString(),
        lon: place ? place.lon : null,
        lat: place ? place.lat : null,
        source: e.taken_at ? "exif" : "device"
      };
    });
  }
  function shrinkAll(input, name) {
    var files = Array.prototype.slice.call(input.files);
    return Promise.all(files.map(function (f) {
      return Promise.all([shrink(f), f.meta ? Promise.resolve(f.meta) : metaOf(f)]).then(function (r) {
        return { name: name, blob: r[0], filename: r[0].name, meta: r[1] };
      });
    }));
  }
  function setFiles(input, files) {
    var dt = new DataTransfer();
    files.forEach(function (f) { dt.items.add(f.blob instanceof File ? f.blob : new File([f.blob], f.filename || "photo.jpg", { type: f.blob.type })); });
    input.files = dt.files;
    // The downscaled copies carry no EXIF any more: keep what was read from the originals.
    files.forEach(function (f, i) { if (f.meta) input.files[i].meta = f.meta; });
  }
  function showRefusal(refused) {
    err.textContent = T.failed + "：" + (refused.error || refused.status);
    var target = { photos: photosInput, photos_after: afterInput, description: desc, class_code: sel }[refused.field];
    if (target) target.focus({ preventScroll: true });
    // In view above the fixed tab bar (html has scroll-padding-bottom), not under it.
    err.scrollIntoView({ block: "center" });
  }
  // A refused report comes back into the form as it was sent, with the reason, to be fixed.
  function editEntry(entry) {
    var f = entry.fields;
    desc.value = f.description || ""; sel.value = f.class_code || "";
    document.getElementById("r-address").value = f.address || "";
    self.checked = f.self_handle === "1"; toggleSelf();
    if (f.response) document.getElementById("r-response").value = f.response;
    document.getElementById("r-note").value = f.note || "";
    if (f.lon && f.lat) setPoint(parseFloat(f.lon), parseFloat(f.lat), null, false);
    setFiles(photosInput, (entry.files || []).filter(function (x) { return x.name === "photos"; }));
    setFiles(afterInput, (entry.files || []).filter(function (x) { return x.name === "photos_after"; }));
    editing = entry.id;
    if (entry.refused) showRefusal(entry.refused);
  }
  function editFromHash() {
    var m = location.hash.match(/^#edit=(.+)$/);
    if (!m) return;
    var id = decodeURIComponent(m[1]);
    UGQueue.all().then(function (items) {
      var entry = items.find(function (e) { return e.id === id; });
      if (entry) editEntry(entry);
    });
  }
  window.addEventListener("hashchange", editFromHash);
  editFromHash();
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    err.textContent = ""; out.textContent = ""; out.className = "";
    var lon = document.getElementById("r-lon").value, lat = document.getElementById("r-lat").value;
    if (!lon || !lat) { err.textContent = T.noPosition; return; }
    if (!desc.value.trim() && !sel.value) { err.textContent = T.needDesc; return; }
    if (self.checked && (!photosInput.files.length || !afterInput.files.length)) { err.textContent = T.needAfter; return; }
    var fields = {};
    new FormData(form).forEach(function (v, k) { if (typeof v === "string" && k !== "csrfmiddlewaretoken") fields[k] = v; });
    var button = document.getElementById("r-submit");
    button.disabled = true;
    var replaces = editing;
    Promise.all([shrinkAll(photosInput, "photos"), self.checked ? shrinkAll(afterInput, "photos_after") : []]).then(function (lists) {
      // A fixed report is a new request (new id): the refused one leaves the outbox with it.
      var files = lists[0].concat(lists[1]);
      fields.photo_meta = JSON.stringify(files.map(function (f) { return Object.assign({ field: f.name }, f.meta); }));
      var entry = { id: UGQueue.uuid(), url: form.action, fields: fields, files: files, created: Date.now(),
        label: (sel.value ? sel.options[sel.selectedIndex].textContent + " · " : "") + desc.value.trim().slice(0, 30) };
      function clear() {
        form.reset(); toggleSelf(); sugg.innerHTML = ""; editing = null;
        if (pos) setPoint(pos.lon, pos.lat, null, pos.gps);
      }
      var answer = null;
      onResult = function (sent, res) { if (sent.id === entry.id) answer = res; };
      // Stored first: whatever happens to the network now, the report is not lost.
      return UGQueue.add(entry).then(function () { return replaces ? UGQueue.remove(replaces) : null; }).then(function () {
        if (!navigator.onLine) { clear(); out.className = "warn-box"; out.textContent = T.queued; return showQueue(); }
        out.textContent = T.sending;
        return sendAll().then(showQueue).then(function () {
          if (answer && answer.ok) { clear(); return; }
          if (answer) { // refused: the form keeps everything, the outbox keeps the entry
            out.textContent = ""; editing = entry.id;
            showRefusal({ status: answer.status, error: (answer.data && answer.data.error) || "", field: (answer.data && answer.data.field) || "" });
            return;
          }
          clear(); out.className = "warn-box"; out.textContent = T.queued; // no answer: queued
        });
      });
    }).finally(function () { button.disabled = false; onResult = null; });
  });
})();
