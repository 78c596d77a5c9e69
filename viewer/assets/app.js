// Polku's pages: the segment selector, maps laid out in the browser when the server has no
// Graphviz, and the overlay of open cases. Plain JavaScript, no requests to other hosts.
(function () {
  "use strict";

  var form = document.getElementById("segment-form");
  if (form) {
    var select = form.querySelector("select");
    if (select) {
      select.addEventListener("change", function () { form.submit(); });
    }
  }

  // Maps whose DOT is in the page itself (a case's own map on the staff page).
  var inline = document.querySelectorAll("figure.case-map[data-rendered='pending']");
  if (inline.length > 0) {
    loadViz().then(function (Viz) { return Viz.instance(); }).then(function (viz) {
      Array.prototype.forEach.call(inline, function (fig) {
        var source = fig.querySelector("script.dot-source");
        var target = fig.querySelector(".map-drawing");
        try {
          var svg = viz.renderSVGElement(source.textContent.replace(/<\\\//g, "</"));
          target.innerHTML = "";
          target.appendChild(svg);
          fig.setAttribute("data-rendered", "browser");
        } catch (e) {
          fig.setAttribute("data-rendered", "failed");
          target.textContent = fig.getAttribute("data-failed-text");
        }
      });
    });
  }

  var figure = document.getElementById("map");
  if (!figure) { return; }
  var drawing = figure.querySelector(".map-drawing");
  var svgNS = "http://www.w3.org/2000/svg";

  function loadViz() {
    if (window.Viz) { return Promise.resolve(window.Viz); }
    return new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = "/assets/viz-global.js";
      script.onload = function () { resolve(window.Viz); };
      script.onerror = function () { reject(new Error("viz-global.js did not load")); };
      document.head.appendChild(script);
    });
  }

  function renderInBrowser() {
    var url = figure.getAttribute("data-dot-url");
    return Promise.all([loadViz().then(function (Viz) { return Viz.instance(); }),
                        fetch(url).then(function (r) {
                          if (!r.ok) { throw new Error("DOT " + r.status); }
                          return r.text();
                        })])
      .then(function (parts) {
        var svg = parts[0].renderSVGElement(parts[1]);
        drawing.innerHTML = "";
        drawing.appendChild(svg);
        figure.setAttribute("data-rendered", "browser");
      })
      .catch(function (error) {
        figure.setAttribute("data-rendered", "failed");
        drawing.textContent = figure.getAttribute("data-failed-text") + ": " + error.message;
      });
  }

  function heatColour(share) {
    // From a pale amber to a deep red as the share of the busiest node grows.
    var hue = 45 - 45 * share;
    var light = 80 - 38 * share;
    return "hsl(" + hue.toFixed(0) + ", 90%, " + light.toFixed(0) + "%)";
  }

  function badge(svg, group, count, max, kind) {
    var box;
    try { box = group.getBBox(); } catch (e) { return; }
    var share = max > 0 ? count / max : 0;
    var g = document.createElementNS(svgNS, "g");
    g.setAttribute("class", "heat heat-" + kind);
    var label = String(count);
    var width = 10 + 7 * label.length;
    var rect = document.createElementNS(svgNS, "rect");
    rect.setAttribute("x", box.x + box.width - width + 4);
    rect.setAttribute("y", box.y - 8);
    rect.setAttribute("width", width);
    rect.setAttribute("height", 16);
    rect.setAttribute("rx", 8);
    rect.setAttribute("fill", heatColour(share));
    rect.setAttribute("stroke", "#7a2e00");
    var text = document.createElementNS(svgNS, "text");
    text.setAttribute("class", "heat-count");
    text.setAttribute("x", box.x + box.width - width / 2 + 4);
    text.setAttribute("y", box.y + 4);
    text.setAttribute("text-anchor", "middle");
    text.setAttribute("font-size", "11");
    text.setAttribute("font-weight", "bold");
    text.setAttribute("fill", share > 0.55 ? "#ffffff" : "#1a1a1a");
    text.textContent = label;
    var title = document.createElementNS(svgNS, "title");
    title.textContent = label;
    g.appendChild(title);
    g.appendChild(rect);
    g.appendChild(text);
    group.appendChild(g);
  }

  function overlay() {
    var url = figure.getAttribute("data-overlay-url");
    if (!url) { return; }
    fetch(url).then(function (r) { return r.ok ? r.json() : null; }).then(function (data) {
      if (!data) { return; }
      var svg = drawing.querySelector("svg");
      var total = document.getElementById("heat-total");
      if (total) { total.textContent = String(data.total); }
      if (!svg) { return; }
      var max = 0;
      Object.keys(data.steps).forEach(function (k) { max = Math.max(max, data.steps[k]); });
      Object.keys(data.steps).forEach(function (name) {
        var g = svg.getElementById ? svg.getElementById("step-" + name) : null;
        if (!g) { g = svg.querySelector("[id='step-" + CSS.escape(name) + "']"); }
        if (g) { badge(svg, g, data.steps[name], max, "step"); }
      });
      var phaseMax = 0;
      Object.keys(data.phases).forEach(function (k) { phaseMax = Math.max(phaseMax, data.phases[k]); });
      Object.keys(data.phases).forEach(function (name) {
        var g = svg.querySelector("[id='phase-" + CSS.escape(name) + "']");
        if (g) { badge(svg, g, data.phases[name], phaseMax, "phase"); }
      });
      figure.setAttribute("data-overlay", "done");
    }).catch(function () { figure.setAttribute("data-overlay", "failed"); });
  }

  // A map wider than the page can be fitted to its width (and back), to see the whole flow.
  function offerFit() {
    var button = figure.querySelector("button.fit-width");
    var svg = drawing.querySelector("svg");
    if (!button || !svg || svg.getBoundingClientRect().width <= drawing.clientWidth + 1) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var fit = !figure.classList.contains("fit");
      figure.classList.toggle("fit", fit);
      button.setAttribute("aria-pressed", fit ? "true" : "false");
    });
  }

  var ready = figure.getAttribute("data-rendered") === "pending" ? renderInBrowser() : Promise.resolve();
  ready.then(offerFit).then(overlay);
})();
