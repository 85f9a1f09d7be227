// Ventas Digitales console: the little behaviour pages need beyond htmx. No inline scripts (CSP).
(function () {
  "use strict";
  function mercY(lat) { return Math.log(Math.tan(Math.PI / 4 + (lat * Math.PI / 180) / 2)); }
  function latOf(y) { return (2 * Math.atan(Math.exp(y)) - Math.PI / 2) * 180 / Math.PI; }

  // Degrees as Bolivians write them (decimal comma); the server reads a point as well.
  function show(value) { return value.toFixed(6).replace(".", ","); }
  function read(text) {
    var clean = (text || "").trim().replace("\u2212", "-").replace("\u00b0", "").replace(",", ".");
    return /^[+-]?\d{1,3}(\.\d+)?$/.test(clean) ? parseFloat(clean) : NaN;
  }

  function wireMap() {
    var svg = document.getElementById("coverage-map");
    if (!svg) { return; }
    var west = parseFloat(svg.dataset.west), east = parseFloat(svg.dataset.east);
    var north = parseFloat(svg.dataset.north), south = parseFloat(svg.dataset.south);
    var top = mercY(north), bottom = mercY(south);
    var box = svg.viewBox.baseVal;
    var latInput = document.getElementById("f-latitude"), lonInput = document.getElementById("f-longitude");
    var marker = document.getElementById("map-point"), status = document.getElementById("map-status");
    var point = null;  // [lat, lon] marked, or null

    function draw() {
      if (!marker) { return; }
      if (!point) { marker.setAttribute("visibility", "hidden"); return; }
      marker.setAttribute("cx", ((point[1] - west) / (east - west) * box.width).toFixed(1));
      marker.setAttribute("cy", ((top - mercY(point[0])) / (top - bottom) * box.height).toFixed(1));
      marker.setAttribute("visibility", "visible");
    }
    function mark(lat, lon, announce) {
      point = [Math.min(north, Math.max(south, lat)), Math.min(east, Math.max(west, lon))];
      if (latInput && lonInput) { latInput.value = show(point[0]); lonInput.value = show(point[1]); }
      draw();
      if (announce && status) {
        status.textContent = "Punto: latitud " + show(point[0]) + ", longitud " + show(point[1]) + ".";
      }
    }
    // Typed coordinates move the point as they are typed; the status line (aria-live) says
    // where it is once a field is left (on "change"), not at every keystroke.
    function fromFields(event) {
      var lat = read(latInput && latInput.value), lon = read(lonInput && lonInput.value);
      var inside = lat <= north && lat >= south && lon >= west && lon <= east;
      point = isNaN(lat) || isNaN(lon) || !inside ? null : [lat, lon];
      draw();
      if (!event || event.type !== "change" || !status) { return; }
      if (point) {
        status.textContent = "Punto: latitud " + show(point[0]) + ", longitud " + show(point[1]) + ".";
      } else if (isNaN(lat) || isNaN(lon)) {
        status.textContent = "Sin punto: escriba la latitud y la longitud en grados, por ejemplo -17,3935 y -66,1570.";
      } else {
        status.textContent = "El punto escrito queda fuera del mapa de zonas: revise la latitud y la longitud.";
      }
    }

    svg.addEventListener("click", function (event) {
      var at = svg.createSVGPoint();
      at.x = event.clientX; at.y = event.clientY;
      var p = at.matrixTransform(svg.getScreenCTM().inverse());
      mark(latOf(top - (p.y / box.height) * (top - bottom)), west + (p.x / box.width) * (east - west), true);
    });
    // Arrow keys move the point about 55 m (with Shift, about 550 m); the first key marks the
    // centre of the map when no point is marked yet.
    svg.addEventListener("keydown", function (event) {
      var moves = { ArrowUp: [1, 0], ArrowDown: [-1, 0], ArrowRight: [0, 1], ArrowLeft: [0, -1] };
      var move = moves[event.key];
      if (!move) { return; }
      event.preventDefault();
      var step = event.shiftKey ? 0.005 : 0.0005;
      if (!point) { mark((north + south) / 2, (west + east) / 2, true); return; }
      mark(point[0] + move[0] * step, point[1] + move[1] * step, true);
    });
    [latInput, lonInput].forEach(function (input) {
      if (!input) { return; }
      input.addEventListener("input", fromFields);
      input.addEventListener("change", fromFields);
    });
    if (latInput && latInput.value) { fromFields(null); }
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
