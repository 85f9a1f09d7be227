// Ventas Digitales console: the little behaviour pages need beyond htmx. No inline scripts (CSP).
(function () {
  "use strict";
  function mercY(lat) { return Math.log(Math.tan(Math.PI / 4 + (lat * Math.PI / 180) / 2)); }
  function latOf(y) { return (2 * Math.atan(Math.exp(y)) - Math.PI / 2) * 180 / Math.PI; }

  function wireMap() {
    var svg = document.getElementById("coverage-map");
    if (!svg) { return; }
    var west = parseFloat(svg.dataset.west), east = parseFloat(svg.dataset.east);
    var top = mercY(parseFloat(svg.dataset.north)), bottom = mercY(parseFloat(svg.dataset.south));
    var box = svg.viewBox.baseVal;
    svg.addEventListener("click", function (event) {
      var point = svg.createSVGPoint();
      point.x = event.clientX; point.y = event.clientY;
      var p = point.matrixTransform(svg.getScreenCTM().inverse());
      var lon = west + (p.x / box.width) * (east - west);
      var lat = latOf(top - (p.y / box.height) * (top - bottom));
      var latInput = document.getElementById("f-latitude"), lonInput = document.getElementById("f-longitude");
      if (latInput && lonInput) { latInput.value = lat.toFixed(6); lonInput.value = lon.toFixed(6); }
      var marker = document.getElementById("map-point");
      if (marker) {
        marker.setAttribute("cx", p.x.toFixed(1)); marker.setAttribute("cy", p.y.toFixed(1));
        marker.setAttribute("visibility", "visible");
      }
    });
  }

  function wireConfirm() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
      });
    });
  }

  function autoContinue() {
    var link = document.getElementById("continue");
    if (link) { window.setTimeout(function () { window.location.assign(link.href); }, 300); }
  }

  document.addEventListener("DOMContentLoaded", function () { wireMap(); wireConfirm(); autoContinue(); });
})();
