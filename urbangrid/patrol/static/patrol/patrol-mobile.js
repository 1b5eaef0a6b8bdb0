/* The grid worker's patrol page: GPS points via watchPosition, batched with client sequence
   numbers, kept in an offline queue (localStorage) and retried until the server has them. */
(function () {
  "use strict";
  var app = document.getElementById("patrol-app");
  if (!app) return;
  var T = JSON.parse(document.getElementById("mobile-i18n").textContent);
  var KEY = "urbangrid.patrol.v1";
  var FLUSH_MS = parseInt(app.dataset.flushMs, 10) || 30000;
  var MIN_MS = parseInt(app.dataset.minIntervalMs, 10);
  if (isNaN(MIN_MS)) MIN_MS = 8000;
  var csrf = app.dataset.csrf;
  var $ = function (id) { return document.getElementById(id); };
  var st = load();
  var watchId = null, lastPos = null, sending = false, backoff = 1000;

  function load() {
    try { return JSON.parse(localStorage.getItem(KEY)) || fresh(); } catch (e) { return fresh(); }
  }
  function fresh() { return { track: null, seq: 0, buffer: [], queue: [], points: 0, started: null }; }
  function save() { localStorage.setItem(KEY, JSON.stringify(st)); render(); }
  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "c" + Date.now().toString(36) + Math.random().toString(36).slice(2);
  }
  function api(url, body) {
    return fetch(url, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf }, body: JSON.stringify(body) });
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function render() {
    var on = !!st.track;
    $("start").hidden = on; $("stop").hidden = !on;
    $("state-label").textContent = on ? T.patrolling : T.idle;
    $("points").textContent = st.points;
    $("queued").textContent = st.queue.length + (st.buffer.length ? " + " + st.buffer.length : "");
    $("net").textContent = navigator.onLine ? T.online : T.offline;
    $("net").className = "badge " + (navigator.onLine ? "badge-green" : "badge-yellow");
    if (lastPos) $("position").textContent = lastPos[1].toFixed(5) + ", " + lastPos[0].toFixed(5) + " ±" + Math.round(lastPos[3] || 0) + T.m;
  }
  function tick() {
    if (st.track && st.started) {
      var s = Math.floor((Date.now() - st.started) / 1000);
      $("elapsed").textContent = pad(Math.floor(s / 3600)) + ":" + pad(Math.floor(s / 60) % 60) + ":" + pad(s % 60);
    }
  }
  function onPosition(pos) {
    // The phone's clock, not pos.timestamp: a location provider may keep a clock (or epoch) of its own.
    var c = pos.coords, now = Date.now();
    lastPos = [c.longitude, c.latitude, now, c.accuracy];
    if (st.track) {
      var prev = st.buffer.length ? st.buffer[st.buffer.length - 1] : null;
      if (!prev || now - prev[2] >= MIN_MS) { st.buffer.push(lastPos); st.points += 1; save(); }
    }
    render(); showCheckpoints();
  }
  function onGeoError() { $("message").textContent = T.no_gps; }
  function watch() {
    if (watchId !== null || !navigator.geolocation) return;
    watchId = navigator.geolocation.watchPosition(onPosition, onGeoError,
      { enableHighAccuracy: true, maximumAge: 0, timeout: 30000 });
  }
  function cut() {
    // Move buffered points into a numbered batch: its seq makes a retried upload harmless.
    if (!st.track || !st.buffer.length) return;
    st.queue.push({ url: "/api/v1/patrol/tracks/" + st.track + "/points", body: { seq: st.seq, points: st.buffer } });
    st.seq += 1; st.buffer = []; save();
  }
  function flush() {
    if (sending || !st.queue.length) return Promise.resolve();
    sending = true;
    var item = st.queue[0];
    return api(item.url, item.body).then(function (r) {
      sending = false;
      if (r.ok || r.status === 409) { st.queue.shift(); backoff = 1000; save(); return flush(); }
      if (r.status >= 400 && r.status < 500 && r.status !== 401 && r.status !== 429) {
        st.queue.shift(); save(); $("message").textContent = T.rejected; return flush();
      }
      retryLater();
    }).catch(function () { sending = false; retryLater(); });
  }
  function retryLater() { backoff = Math.min(backoff * 2, 60000); setTimeout(flush, backoff); render(); }
  function start() {
    var cid = uuid();
    $("start").disabled = true;
    api("/api/v1/patrol/tracks", { client_id: cid }).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      return r.json();
    }).then(function (t) {
      st = fresh(); st.track = t.id; st.started = Date.parse(t.started_at) || Date.now();
      save(); $("message").textContent = T.started; watch();
      if (lastPos) { st.buffer.push([lastPos[0], lastPos[1], Date.now(), lastPos[3]]); st.points = 1; save(); }
    }).catch(function () { $("message").textContent = T.start_failed; })
      .then(function () { $("start").disabled = false; });
  }
  function stop() {
    if (!st.track) return;
    cut();
    st.queue.push({ url: "/api/v1/patrol/tracks/" + st.track + "/stop", body: { ended_at: new Date().toISOString() } });
    st.track = null; st.started = null; save();
    $("message").textContent = T.stopped;
    flush();
  }
  var checkpoints = [];
  function dist(a, b) {
    var R = 6371008.8, r = Math.PI / 180, dLat = (b[1] - a[1]) * r, dLon = (b[0] - a[0]) * r;
    var h = Math.pow(Math.sin(dLat / 2), 2) + Math.cos(a[1] * r) * Math.cos(b[1] * r) * Math.pow(Math.sin(dLon / 2), 2);
    return 2 * R * Math.asin(Math.sqrt(h));
  }
  function showCheckpoints() {
    var ul = $("checkpoints");
    if (!checkpoints.length) return;
    ul.innerHTML = "";
    checkpoints.forEach(function (cp) {
      var li = document.createElement("li");
      var d = lastPos ? Math.round(dist(lastPos, [cp.lon, cp.lat])) : null;
      li.textContent = cp.name + (d !== null ? " · " + d + T.m : "") + " ";
      if (st.track && lastPos) {
        var b = document.createElement("button");
        b.className = "btn btn-light"; b.textContent = T.checkin;
        b.onclick = function () {
          var body = { checkpoint_id: cp.id, lon: lastPos[0], lat: lastPos[1], client_key: uuid() };
          api("/api/v1/patrol/tracks/" + st.track + "/checkins", body).then(function (r) { return r.json(); })
            .then(function (c) { b.textContent = c.valid ? T.checked : T.too_far; b.disabled = !!c.valid; });
        };
        li.appendChild(b);
      }
      ul.appendChild(li);
    });
  }
  fetch("/api/v1/patrol/checkpoints", { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : []; })
    .then(function (list) { checkpoints = list.slice(0, 30); showCheckpoints(); });

  $("start").addEventListener("click", start);
  $("stop").addEventListener("click", stop);
  window.addEventListener("online", function () { render(); flush(); });
  window.addEventListener("offline", render);
  setInterval(function () { cut(); flush(); }, FLUSH_MS);
  setInterval(tick, 1000);
  // A track finished on the server (or by another device) must not be resumed here.
  if (st.track && app.dataset.activeId !== String(st.track)) { st.track = null; st.started = null; save(); }
  if (st.track) watch(); else if (navigator.geolocation) watch();
  render(); flush();
})();
