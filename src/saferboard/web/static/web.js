/* saferboard web: draws the Vega-Lite charts and the Leaflet hotspot map from JSON blocks
   in the page. No inline scripts (the Content-Security-Policy forbids them) and no
   external requests: Vega runs with its CSP-safe expression interpreter, and the map has no
   tile layer. */
(function () {
  "use strict";

  function readJson(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function drawCharts() {
    if (!window.vegaEmbed) { return; }
    var charts = document.querySelectorAll("div.vega[data-spec]");
    Array.prototype.forEach.call(charts, function (el) {
      var spec = readJson(el.getAttribute("data-spec"));
      if (!spec) { return; }
      spec.width = "container";
      spec.autosize = {type: "fit-x", contains: "padding"};
      window.vegaEmbed(el, spec, {
        // ast: vega-embed's bundled interpreter evaluates expressions without eval.
        // Tooltip styles come from web.css: the CSP allows no injected <style>.
        renderer: "svg", actions: false, defaultStyle: false, ast: true,
        tooltip: {theme: "custom", disableDefaultStyle: true}
      }).then(function (result) {
        var svg = el.querySelector("svg");
        if (svg) {
          svg.setAttribute("role", "img");
          svg.setAttribute("aria-label", el.getAttribute("aria-label") || "");
        }
        return result;
      }).catch(function (err) {
        el.textContent = "The chart could not be drawn: " + err.message;
      });
    });
  }

  function drawMap() {
    var el = document.getElementById("map");
    if (!el || !window.L || !el.getAttribute("data-url")) { return; }
    fetch(el.getAttribute("data-url"), {credentials: "same-origin"}).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    }).then(function (data) {
      var map = window.L.map(el, {zoomSnap: 0.25, keyboard: true});
      map.attributionControl.setPrefix("Leaflet (BSD-2)");
      window.L.geoJSON(data.cells, {
        style: function (f) {
          return {color: "#777", weight: 0.3, fillColor: data.colours[f.properties["class"]],
                  fillOpacity: 0.85};
        },
        onEachFeature: function (f, layer) {
          var p = f.properties;
          var text = p["class"] + ": " + p.count + " crimes, z " + p.z + ", p " +
            p.p_adjusted;
          layer.bindPopup(document.createTextNode(text));
        }
      }).addTo(map);
      var outline = window.L.geoJSON(data.boundary, {
        style: {color: "#333333", weight: 2, fill: false}, interactive: false}).addTo(map);
      map.fitBounds(outline.getBounds());
    }).catch(function (err) {
      el.textContent = "The map could not be drawn: " + err.message;
    });
  }

  function colourSwatches() {
    var swatches = document.querySelectorAll(".swatch[data-colour]");
    Array.prototype.forEach.call(swatches, function (el) {
      el.style.backgroundColor = el.getAttribute("data-colour");
    });
  }

  drawCharts();
  drawMap();
  colourSwatches();
}());
