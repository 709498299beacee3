// The console page: the power chart (uPlot) from the `history` and `power` events, the row buttons,
// and a record of when each `data-seen` key first appeared (window.flexsimSeen, for the benchmark).
(function () {
  "use strict";
  const KINDS = ["solar", "wind", "consumer", "battery"];
  const COLORS = { solar: "#e6a700", wind: "#3a8", consumer: "#c44", battery: "#66c", net: "#222" };
  const points = [];  // [t, byKind, net]
  let windows = [];
  let chart = null;
  window.flexsimSeen = {};
  window.flexsimChart = { points: points };

  htmx.config.responseHandling = [
    { code: "204", swap: false }, { code: "[23]..", swap: true },
    { code: "422", swap: true, error: false }, { code: "[45]..", swap: false, error: true },
  ];

  // The chart's columns (time, one per kind, net), appended to as points arrive: nothing is rebuilt
  // for a redraw.
  const cols = [[], ...KINDS.map(() => []), []];
  function append(p) {
    points.push(p);
    cols[0].push(p[0]);
    KINDS.forEach((k, i) => cols[i + 1].push(Number(p[1][k]) || 0));
    cols[KINDS.length + 1].push(p[2]);
  }

  function bands(u) {
    const ctx = u.ctx;
    ctx.save();
    ctx.fillStyle = "rgba(80, 120, 255, 0.12)";
    for (const [a, b] of windows) {
      const x0 = u.valToPos(a, "x", true), x1 = u.valToPos(b, "x", true);
      ctx.fillRect(x0, u.bbox.top, Math.max(1, x1 - x0), u.bbox.height);
    }
    ctx.restore();
  }

  function makeChart() {
    const el = document.getElementById("chart");
    const opts = {
      width: Math.max(400, el.clientWidth || 900), height: 260,
      series: [{}, ...KINDS.map(k => ({ label: k, stroke: COLORS[k], width: 1.5 })),
               { label: "net", stroke: COLORS.net, width: 2, dash: [4, 3] }],
      axes: [{}, { label: "W", size: 70 }],
      hooks: { drawClear: [bands] },
    };
    chart = new uPlot(opts, cols, el);
  }

  function redraw() { if (chart) chart.setData(cols); else if (points.length) makeChart(); }

  function add(msg) {
    let changed = false;
    for (const p of msg.points) {
      if (!points.length || p[0] > points[points.length - 1][0]) { append(p); changed = true; }
    }
    while (points.length > 2400) { points.shift(); for (const c of cols) c.shift(); }
    if (msg.windows && msg.windows.length && JSON.stringify(msg.windows) !== JSON.stringify(windows)) {
      windows = msg.windows;
      changed = true;
    }
    if (changed) redraw();
  }

  // The fragments are set straight from their events, with no htmx swap (its swapping and settling
  // classes restyle the element twice per message). The prosumers' table comes row by row: the
  // `prosumers` event carries only the rows that changed since this page last heard (and their order
  // when it changed), and a changed row is patched in its cells that differ: an open page costs the
  // browser, and the machine the aggregator may share, little. (The fragments carry no hx- attributes:
  // the row buttons are handled by the click listener below.)
  function patchRows(msg) {
    const body = document.getElementById("prosumer-rows");
    const tpl = document.createElement("template");
    tpl.innerHTML = msg.rows;
    const byAddress = new Map();
    for (const r of Array.from(body.children)) {
      const k = r.getAttribute("data-address");
      if (k) byAddress.set(k, r);
    }
    for (const r of Array.from(tpl.content.children)) {
      const k = r.getAttribute("data-address");
      if (!k) { body.replaceChildren(r); byAddress.clear(); continue; }  // "no prosumer yet"
      const row = byAddress.get(k);
      if (row && row.cells.length === r.cells.length) { patchRow(row, r); continue; }
      if (row) row.replaceWith(r); else body.appendChild(r);
      byAddress.set(k, r);
    }
    if (msg.order === null || !msg.order.length) return;
    let at = body.firstElementChild;
    for (const k of msg.order) {
      const row = byAddress.get(k);
      if (!row) continue;
      byAddress.delete(k);
      if (row !== at) body.insertBefore(row, at); else at = row.nextElementSibling;
    }
    for (const r of Array.from(body.children)) {
      const k = r.getAttribute("data-address");
      if (!k || byAddress.has(k)) r.remove();
    }
  }

  function patchRow(row, r) {  // the attributes and the cells that differ, in place
    for (const a of Array.from(r.attributes)) {
      if (row.getAttribute(a.name) !== a.value) row.setAttribute(a.name, a.value);
    }
    const cells = Array.from(r.cells);  // (a live list: moving a cell out would shift it)
    for (let i = 0; i < cells.length; i++) {
      const old = row.cells[i], cell = cells[i];
      if (old.innerHTML === cell.innerHTML) continue;
      if (!cell.firstElementChild && !old.firstElementChild && old.className === cell.className) {
        old.firstChild ? (old.firstChild.data = cell.textContent) : (old.textContent = cell.textContent);
      } else {
        old.replaceWith(cell);
      }
    }
  }

  function noteSeen() {
    const now = Date.now();
    document.querySelectorAll("[data-seen]").forEach(el => {
      const k = el.getAttribute("data-seen");
      if (k && !(k in window.flexsimSeen)) window.flexsimSeen[k] = now;
    });
  }

  document.body.addEventListener("htmx:sseOpen", ev => {
    const source = ev.detail.source;
    if (!source || source.flexsimChart) return;
    source.flexsimChart = true;
    for (const name of ["history", "power"]) source.addEventListener(name, m => add(JSON.parse(m.data)));
    source.addEventListener("prosumers", m => { patchRows(JSON.parse(m.data)); noteSeen(); });
    document.querySelectorAll("[data-fragment]").forEach(el => {
      source.addEventListener(el.getAttribute("data-fragment"), m => {
        if (el.innerHTML !== m.data) el.innerHTML = m.data;
        noteSeen();
      });
    });
  });
  document.body.addEventListener("htmx:afterSettle", noteSeen);

  document.addEventListener("click", ev => {
    const b = ev.target.closest("button.act");
    if (!b) return;
    const i = b.getAttribute("data-index"), action = b.getAttribute("data-action");
    const values = {};
    if (action === "outage") values.duration_s = document.getElementById("outage-duration").value;
    if (action === "renegotiate") {
      const f = document.getElementById("der-params");
      for (const n of ["flex_up_w", "flex_down_w"]) if (f.elements[n].value) values[n] = f.elements[n].value;
    }
    htmx.ajax("POST", "/actions/der/" + i + "/" + action, { target: "#log", swap: "afterbegin", values: values });
  });
})();
