/* Patrol status map: grids coloured by covered share, flagged grids outlined, tracks drawn. */
(function () {
  "use strict";
  var el = document.getElementById("map");
  if (!el) return;
  var T = JSON.parse(document.getElementById("patrol-i18n").textContent);
  var bbox = JSON.parse(document.getElementById("home-bbox").textContent);
  var day = el.dataset.date;
  var map = L.map(el, { preferCanvas: true });
  if (el.dataset.tiles) L.tileLayer(el.dataset.tiles, { maxZoom: 20 }).addTo(map);
  if (bbox) map.fitBounds([[bbox[1], bbox[0]], [bbox[3], bbox[2]]]); else map.setView([34.25, 108.9], 13);
  var gridLayer = L.geoJSON(null, { style: style, onEachFeature: bind }).addTo(map);
  var trackLayer = L.layerGroup().addTo(map);
  var status = document.getElementById("status");

  function colour(share) {
    if (share >= 0.6) return "#2e9d57";
    if (share >= 0.3) return "#e0a100";
    if (share > 0) return "#f07c3c";
    return "#d23c3c";
  }
  function style(f) {
    var p = f.properties;
    return { color: p.flagged ? "#8a1f1f" : "#555", weight: p.flagged ? 2 : 0.5, fillColor: colour(p.share),
             fillOpacity: 0.45 };
  }
  function pct(x) { return (100 * x).toFixed(1) + "%"; }
  function plan(p) { return p.plan_met === null ? T.none : (p.plan_met ? T.met : T.not_met); }
  function bind(f, layer) {
    var p = f.properties;
    layer.bindTooltip(p.code + "<br>" + T.share + " " + pct(p.share) + " · " + T.patrols + " " + p.patrols +
      "<br>" + T.plan + " " + plan(p) + (p.checkpoints_required ? " · " + T.checkpoints + " " +
      p.checkpoints_done + "/" + p.checkpoints_required : ""));
  }
  function esc(s) { var d = document.createElement("div"); d.textContent = s; return d.innerHTML; }
  function summary(s) {
    var rows = [[T.grids, s.grids], [T.patrolled, s.patrolled], [T.unpatrolled, s.unpatrolled],
      [T.planned, s.planned], [T.plan_met, s.plan_met + " (" + pct(s.plan_met_rate) + ")"],
      [T.mean_share, pct(s.mean_share)], [T.score, s.score]];
    document.getElementById("summary").innerHTML = rows.map(function (r) {
      return "<dt>" + esc(r[0]) + "</dt><dd>" + esc(String(r[1])) + "</dd>"; }).join("");
  }
  function flagged(features) {
    var list = features.filter(function (f) { return f.properties.flagged; }).slice(0, 200);
    document.getElementById("flagged").innerHTML = list.map(function (f) {
      var p = f.properties;
      return "<li data-code='" + esc(p.code) + "'>" + esc(p.code) + " · " + esc(T["reason_" + p.reason] || p.reason) +
        " · " + pct(p.share) + "</li>"; }).join("");
  }
  var seq = 0, timer = null;
  function load() {
    var b = map.getBounds(), mine = ++seq;
    status.textContent = T.loading;
    var q = "?date=" + day + "&bbox=" + [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) {
      return v.toFixed(6); }).join(",");
    fetch("/api/v1/patrol/coverage" + q, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (fc) {
        if (mine !== seq) return;
        gridLayer.clearLayers(); gridLayer.addData(fc.features);
        summary(fc.summary); flagged(fc.features);
        status.textContent = fc.features.length + " " + T.grids;
      })
      .catch(function () { status.textContent = T.error; });
  }
  function loadTracks() {
    trackLayer.clearLayers();
    if (!document.getElementById("show-tracks").checked) return;
    fetch("/api/v1/patrol/tracks?date=" + day, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (tracks) {
        tracks.slice(0, 80).forEach(function (t) {
          fetch("/api/v1/patrol/tracks/" + t.id, { credentials: "same-origin" })
            .then(function (r) { return r.ok ? r.json() : null; })
            .then(function (f) {
              if (!f) return;
              L.geoJSON(f, { style: { color: "#1f5fae", weight: 2, opacity: 0.8 } })
                .bindTooltip(esc(t.person_name) + " " + t.started_at.slice(11, 16)).addTo(trackLayer)
                .on("click", function () { window.location = "/patrol/tracks/" + t.id + "/"; });
            });
        });
      });
  }
  map.on("moveend", function () { clearTimeout(timer); timer = setTimeout(load, 250); });
  document.getElementById("show-tracks").addEventListener("change", loadTracks);
  load(); loadTracks();
})();
