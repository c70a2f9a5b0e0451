// tracktui report: sorting the tables of runs, a run highlighted or hidden across every chart,
// and a crosshair on each chart reading every shown run's value at the step under the pointer.
// Reads its data from the JSON block (never from markup built by concatenation); every text it
// shows is set with textContent.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);

  function cellValue(row, index) {
    var cell = row.cells[index];
    return cell ? cell.getAttribute("data-value") || "" : "";
  }

  var collator = new Intl.Collator(undefined, { sensitivity: "base" });
  var NUMBER = /(\d+(?:\.\d+)?)/;

  function natural(a, b) {
    // Text as text, the numbers in it as numbers, decimals included: lr0.0003 < lr0.001 <
    // lr0.02 and run-2 < run-10 (a numeric collator reads 0.0003 as 0 and 0003, after 0.02).
    var x = a.split(NUMBER), y = b.split(NUMBER);
    for (var i = 0; i < Math.min(x.length, y.length); i++) {
      var order = i % 2 === 1 ? Number(x[i]) - Number(y[i]) : collator.compare(x[i], y[i]);
      if (order) { return order; }
    }
    return x.length - y.length || collator.compare(a, b);
  }

  function compare(a, b) {
    // Empty values last whichever way the column is sorted; numbers as numbers.
    if (a === "" || b === "") { return a === b ? 0 : a === "" ? 1 : -1; }
    var x = Number(a), y = Number(b);
    if (!isNaN(x) && !isNaN(y)) { return x - y; }
    return natural(a, b);
  }

  function sortBy(table, header) {
    var index = Array.prototype.indexOf.call(header.parentNode.children, header);
    var descending = header.getAttribute("aria-sort") === "ascending";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.forEach(function (row, position) { row._position = position; });
    rows.sort(function (r1, r2) {
      var a = cellValue(r1, index), b = cellValue(r2, index);
      if (a === "" || b === "") { return compare(a, b) || r1._position - r2._position; }
      var order = compare(a, b);
      return (descending ? -order : order) || r1._position - r2._position;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
      th.removeAttribute("aria-sort");
      var arrow = th.querySelector(".arrow");
      if (arrow) { arrow.textContent = ""; }
    });
    header.setAttribute("aria-sort", descending ? "descending" : "ascending");
    header.querySelector(".arrow").textContent = descending ? " ▼" : " ▲";
  }

  // Every table of runs sorts the same way: the runs table, best values, summaries and the
  // config of many runs (a header with data-key, cells with data-value).
  document.querySelectorAll("table.sortable").forEach(function (sortable) {
    if (!sortable.tHead) { return; }
    sortable.tHead.querySelectorAll("th[data-key]").forEach(function (th) {
      th.setAttribute("tabindex", "0");
      th.addEventListener("click", function () { sortBy(sortable, th); });
      th.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sortBy(sortable, th); }
      });
    });
  });

  function eachSeries(runId, action) {
    document.querySelectorAll("#charts g.series").forEach(function (group) {
      action(group, group.getAttribute("data-run") === runId);
    });
  }

  function highlight(runId) {
    eachSeries(runId, function (group, mine) {
      group.classList.toggle("dim", runId !== null && !mine);
      group.classList.toggle("hot", runId !== null && mine);
    });
  }

  document.querySelectorAll("table.sortable").forEach(function (runsTable) {
    runsTable.addEventListener("mouseover", function (event) {
      var row = event.target.closest("tr[data-run]");
      highlight(row ? row.getAttribute("data-run") : null);
    });
    runsTable.addEventListener("mouseleave", function () { highlight(null); });
  });

  document.querySelectorAll("#charts .legend .run").forEach(function (label) {
    var runId = label.getAttribute("data-run");
    label.setAttribute("role", "button");
    label.setAttribute("tabindex", "0");
    var known = data.runs.filter(function (run) { return run.id === runId; })[0];
    label.title = "show or hide " + (known ? known.name : runId) + " in every chart";
    function toggle() {
      var off = label.classList.toggle("off");
      eachSeries(runId, function (group, mine) { if (mine) { group.classList.toggle("off", off); } });
    }
    label.addEventListener("click", toggle);
    label.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); toggle(); }
    });
    label.addEventListener("mouseenter", function () { highlight(runId); });
    label.addEventListener("mouseleave", function () { highlight(null); });
  });

  var names = {};
  data.runs.forEach(function (run) { names[run.id] = run; });

  function nearest(xs, x) {
    var low = 0, high = xs.length - 1;
    if (high < 0) { return -1; }
    while (high - low > 1) {
      var mid = (low + high) >> 1;
      if (xs[mid] < x) { low = mid; } else { high = mid; }
    }
    return Math.abs(xs[low] - x) <= Math.abs(xs[high] - x) ? low : high;
  }

  function shortNumber(value) {
    if (value === null || !isFinite(value)) { return "NaN/inf"; }
    var magnitude = Math.abs(value);
    if (magnitude !== 0 && (magnitude < 1e-3 || magnitude >= 1e6)) { return value.toExponential(3); }
    return String(Number(value.toPrecision(5)));
  }

  var SVG = "http://www.w3.org/2000/svg";
  document.querySelectorAll("#charts figure.chart").forEach(function (figure, index) {
    var chart = data.charts && data.charts[index];
    var svg = figure.querySelector("svg");
    if (!chart || !svg || !chart.lines.length || !svg.getScreenCTM) { return; }
    var line = document.createElementNS(SVG, "line");
    line.setAttribute("class", "crosshair");
    line.setAttribute("y1", "0");
    line.setAttribute("y2", svg.viewBox.baseVal.height);
    line.style.display = "none";
    svg.appendChild(line);
    var tip = document.createElement("div");
    tip.className = "crosshair-tip";
    tip.hidden = true;
    figure.appendChild(tip);
    var left = chart.px[0], right = chart.px[1], x0 = chart.x[0], x1 = chart.x[1];

    function hide() { tip.hidden = true; line.style.display = "none"; }

    function show(event) {
      var matrix = svg.getScreenCTM();
      if (!matrix) { return; }
      var point = svg.createSVGPoint();
      point.x = event.clientX; point.y = event.clientY;
      var at = point.matrixTransform(matrix.inverse());
      if (at.x < left || at.x > right) { hide(); return; }
      var x = x0 + (at.x - left) / (right - left) * (x1 - x0);
      var rows = [], snapped = null;
      chart.lines.forEach(function (series) {
        var group = svg.querySelector('g.series[data-run="' + CSS.escape(series.run) + '"]');
        if (group && group.classList.contains("off")) { return; }
        var steps = chart.xs[series.xi];
        var i = nearest(steps, x);
        if (i < 0) { return; }
        if (snapped === null || Math.abs(steps[i] - x) < Math.abs(snapped - x)) { snapped = steps[i]; }
        rows.push({ run: series.run, value: series.y[i], x: steps[i] });
      });
      if (!rows.length) { hide(); return; }
      var px = left + (snapped - x0) / (x1 - x0) * (right - left);
      line.setAttribute("x1", px); line.setAttribute("x2", px);
      line.style.display = "";
      while (tip.firstChild) { tip.removeChild(tip.firstChild); }
      var head = document.createElement("div");
      head.className = "tip-step";
      head.textContent = chart.x_name + " " + shortNumber(snapped);
      tip.appendChild(head);
      rows.sort(function (a, b) { return (b.value === null) - (a.value === null) || b.value - a.value; });
      rows.slice(0, 12).forEach(function (row) {
        var known = names[row.run] || { name: row.run, color: "" };
        var item = document.createElement("div");
        item.className = "tip-row";
        var swatch = document.createElement("span");
        swatch.className = "swatch";
        swatch.style.background = known.color;
        var name = document.createElement("span");
        name.className = "tip-name";
        name.textContent = known.name;
        var value = document.createElement("span");
        value.className = "tip-value";
        value.textContent = shortNumber(row.value) + (row.x !== snapped ? " @" + shortNumber(row.x) : "");
        item.appendChild(swatch); item.appendChild(name); item.appendChild(value);
        tip.appendChild(item);
      });
      if (rows.length > 12) {
        var more = document.createElement("div");
        more.className = "tip-more";
        more.textContent = "and " + (rows.length - 12) + " more runs";
        tip.appendChild(more);
      }
      tip.hidden = false;
      var box = figure.getBoundingClientRect();
      var offset = event.clientX - box.left;
      tip.style.top = Math.max(4, event.clientY - box.top + 14) + "px";
      tip.style.left = "";
      tip.style.right = "";
      if (offset > box.width / 2) { tip.style.right = (box.width - offset + 14) + "px"; }
      else { tip.style.left = (offset + 14) + "px"; }
    }

    svg.addEventListener("mousemove", show);
    svg.addEventListener("mouseleave", hide);
  });
})();
