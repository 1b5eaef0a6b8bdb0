// Leaflet's controls carry English titles; this script is loaded right after leaflet.js (see
// templates/_leaflet.html) and gives them the page's translated ones from its data attributes.
(function () {
  "use strict";
  var d = document.currentScript.dataset;
  L.Control.Zoom.mergeOptions({ zoomInTitle: d.zoomIn, zoomOutTitle: d.zoomOut });
})();
