// tracktui report: sorting the runs table, and a run highlighted or hidden across every chart.
// Reads its data from the JSON block (never from markup built by concatenation); every text it
// shows is set with textContent.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var table = document.getElementById("runs-table");

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

  function sortBy(header) {
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

  if (table && table.tHead) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
      th.setAttribute("tabindex", "0");
      th.addEventListener("click", function () { sortBy(th); });
      th.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sortBy(th); }
      });
    });
  }

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

  if (table) {
    table.addEventListener("mouseover", function (event) {
      var row = event.target.closest("tr[data-run]");
      highlight(row ? row.getAttribute("data-run") : null);
    });
    table.addEventListener("mouseleave", function () { highlight(null); });
  }

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
})();
