/* Public report page: pick the place on a tile-free map of the city's boundaries, see open
   problems nearby, get a class suggestion from the text, verify an optional phone number. */
(function () {
  "use strict";
  var T = JSON.parse(document.getElementById("portal-texts").textContent);
  var form = document.getElementById("report-form");
  var csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;
  var lonInput = document.getElementById("id_lon");
  var latInput = document.getElementById("id_lat");
  var picked = document.getElementById("picked");
  var mapEl = document.getElementById("report-map");

  function post(url, data) {
    var body = new URLSearchParams(data);
    return fetch(url, { method: "POST", body: body, headers: { "X-CSRFToken": csrf }, credentials: "same-origin" })
      .then(function (r) { return r.json().then(function (j) { j._ok = r.ok; return j; }); });
  }

  // --- map ---------------------------------------------------------------------------------
  var map = L.map(mapEl, { zoomControl: true, attributionControl: false }).setView([30.0, 114.0], 4);
  if (mapEl.dataset.tiles) { L.tileLayer(mapEl.dataset.tiles, { maxZoom: 19 }).addTo(map); }
  mapEl.leafletMap = map; // for browser tests and assistive scripts
  var marker = null;
  var nearbyLayer = L.layerGroup().addTo(map);
  fetch(mapEl.dataset.regionsUrl, { credentials: "same-origin" })
    .then(function (r) { return r.json(); })
    .then(function (fc) {
      if (!fc.features || !fc.features.length) { return; }
      var layer = L.geoJSON(fc, {
        style: function (f) {
          return f.properties.level === 3
            ? { color: "#1f5fae", weight: 2, fill: false }
            : { color: "#7d93b2", weight: 1, fillColor: "#ffffff", fillOpacity: 0.6 };
        },
        onEachFeature: function (f, l) { if (f.properties.level === 4) { l.bindTooltip(f.properties.name, { sticky: true }); } }
      }).addTo(map);
      layer.eachLayer(function (l) { if (l.feature.properties.level === 3) { l.bringToFront(); } });
      map.fitBounds(layer.getBounds());
      if (lonInput.value && latInput.value) { place(parseFloat(latInput.value), parseFloat(lonInput.value), false); }
    });

  function place(lat, lon, pan) {
    latInput.value = lat.toFixed(6);
    lonInput.value = lon.toFixed(6);
    if (marker) { marker.setLatLng([lat, lon]); } else {
      marker = L.circleMarker([lat, lon], { radius: 9, color: "#d23c3c", weight: 3, fillColor: "#d23c3c", fillOpacity: 0.5 }).addTo(map);
    }
    if (pan) { map.panTo([lat, lon]); }
    picked.textContent = T.picked + " " + lat.toFixed(5) + ", " + lon.toFixed(5);
    loadNearby(lat, lon);
  }
  map.on("click", function (e) { place(e.latlng.lat, e.latlng.lng, false); });

  var nearbyBox = document.getElementById("nearby");
  var nearbyList = document.getElementById("nearby-list");
  function loadNearby(lat, lon) {
    fetch(nearbyBox.dataset.url + "?lon=" + lon + "&lat=" + lat, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        nearbyLayer.clearLayers();
        nearbyList.textContent = "";
        var cases = data.cases || [];
        nearbyBox.hidden = cases.length === 0;
        cases.forEach(function (c) {
          var li = document.createElement("li");
          var strong = document.createElement("strong");
          strong.textContent = c.class_name || T.unclassified;
          li.appendChild(strong);
          li.appendChild(document.createTextNode(" · " + c.state + " · " + c.distance_m + T.metres + " · " + c.reported_at));
          if (c.description) {
            var p = document.createElement("div");
            p.className = "hint";
            p.textContent = c.description;
            li.appendChild(p);
          }
          nearbyList.appendChild(li);
          L.circleMarker([c.lat, c.lon], { radius: 6, color: "#e0a100", weight: 2, fillOpacity: 0.6 })
            .bindTooltip((c.class_name || T.unclassified) + " · " + c.state).addTo(nearbyLayer);
        });
      });
  }

  // --- class suggestion ----------------------------------------------------------------------
  var desc = document.getElementById("id_description");
  var select = document.getElementById("id_class_code");
  var sugBox = document.getElementById("suggestions");
  var sugList = document.getElementById("suggestion-list");
  var timer = null;
  desc.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var text = desc.value.trim();
      if (text.length < 2) { sugBox.hidden = true; return; }
      post(sugBox.dataset.url, { text: text })
        .then(function (data) {
          sugList.textContent = "";
          (data.suggestions || []).forEach(function (s) {
            var b = document.createElement("button");
            b.type = "button";
            b.className = "chip";
            b.textContent = s.name;
            b.dataset.code = s.key;
            b.addEventListener("click", function () { select.value = s.key; });
            sugList.appendChild(b);
          });
          sugBox.hidden = !(data.suggestions || []).length;
        })
        .catch(function () { sugBox.hidden = true; }); // a suggestion is optional: never break the form
    }, 350);
  });

  // --- phone verification --------------------------------------------------------------------
  var phone = document.getElementById("id_phone");
  var sendBtn = document.getElementById("send-code");
  var verifyBtn = document.getElementById("verify-code");
  var codeRow = document.getElementById("code-row");
  var codeInput = document.getElementById("id_code");
  var ticket = document.getElementById("id_phone_ticket");
  var status = document.getElementById("phone-status");
  function say(text, bad) { status.textContent = text; status.className = bad ? "field-error" : "hint ok"; }
  phone.addEventListener("input", function () { ticket.value = ""; });
  sendBtn.addEventListener("click", function () {
    post(sendBtn.dataset.url, { phone: phone.value.trim() }).then(function (j) {
      say(j.detail, !j._ok);
      if (j._ok) { codeRow.hidden = false; codeInput.focus(); }
    });
  });
  verifyBtn.addEventListener("click", function () {
    post(verifyBtn.dataset.url, { phone: phone.value.trim(), code: codeInput.value.trim() }).then(function (j) {
      say(j.detail, !j._ok);
      if (j._ok) { ticket.value = j.ticket; codeRow.hidden = true; }
    });
  });
  form.addEventListener("submit", function (e) {
    if (phone.value.trim() && !ticket.value) {
      e.preventDefault();
      say(T.verifyFirst, true);
      phone.focus();
    }
  });
})();
