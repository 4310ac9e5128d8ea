
document.documentElement.classList.add("js");
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("thead th").forEach(function (th, col) {
    th.addEventListener("click", function () {
      var body = table.tBodies[0];
      var up = th.getAttribute("data-order") !== "asc";
      th.setAttribute("data-order", up ? "asc" : "desc");
      var key = function (row) {
        var cell = row.cells[col];
        var v = cell ? (cell.getAttribute("data-sort") || cell.textContent) : "";
        var n = parseFloat(v);
        return isNaN(n) ? v : n;
      };
      Array.from(body.rows).sort(function (a, b) {
        var x = key(a), y = key(b);
        var c = typeof x === "number" && typeof y === "number"
          ? x - y : String(x).localeCompare(String(y));
        return up ? c : -c;
      }).forEach(function (row) { body.appendChild(row); });
    });
  });
});
