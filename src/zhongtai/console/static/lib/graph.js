// A directed graph drawn on one <canvas>: a layered layout (each node one layer right of its furthest
// predecessor, the longest path), pan by dragging, zoom by the wheel around the pointer, click or Enter to
// open a node, arrow keys to move the keyboard focus from node to node (announced in a live region).
// No per-node DOM: a frame draws only the nodes and edges in view, and frames are asked for with
// requestAnimationFrame, so a graph of a thousand nodes pans as smoothly as one of ten.

const NODE_W = 180, NODE_H = 30, GAP_X = 80, GAP_Y = 16;
export const COLORS = {
  source: "#7a5af8", dataset: "#2457c5", identity: "#0e9384", tag: "#0086c9", "feature view": "#b06000",
  "on-demand view": "#b06000", "feature group": "#b06000", model: "#c11574", capability: "#137333",
};

// Layers by longest path from the sources (Kahn's order; nodes on a cycle go one layer past the deepest
// node placed), then each layer ordered by the mean position of its predecessors to cross fewer edges.
export function layout(nodes, edges) {
  const index = new Map(nodes.map((n, i) => [n.id, i]));
  const preds = nodes.map(() => []), succs = nodes.map(() => []);
  for (const e of edges) {
    const a = index.get(e.from), b = index.get(e.to);
    if (a === undefined || b === undefined || a === b) continue;
    succs[a].push(b); preds[b].push(a);
  }
  const layer = new Array(nodes.length).fill(0);
  const waiting = preds.map((p) => p.length);
  const queue = waiting.flatMap((w, i) => (w === 0 ? [i] : []));
  const placed = new Array(nodes.length).fill(false);
  for (let head = 0; head < queue.length; head++) {
    const i = queue[head];
    placed[i] = true;
    for (const j of succs[i]) {
      layer[j] = Math.max(layer[j], layer[i] + 1);
      if (--waiting[j] === 0) queue.push(j);
    }
  }
  const deepest = Math.max(0, ...layer);
  nodes.forEach((_, i) => { if (!placed[i]) layer[i] = Math.max(layer[i], deepest + 1); });
  const layers = [];
  nodes.forEach((_, i) => { (layers[layer[i]] ||= []).push(i); });
  const row = new Array(nodes.length).fill(0);
  for (const members of layers) {
    if (!members) continue;
    const weight = (i) => (preds[i].length ? preds[i].reduce((s, p) => s + row[p], 0) / preds[i].length : row[i]);
    members.sort((a, b) => weight(a) - weight(b) || nodes[a].label.localeCompare(nodes[b].label));
    members.forEach((i, r) => { row[i] = r; });
  }
  return nodes.map((n, i) => ({ ...n, layer: layer[i], row: row[i], x: layer[i] * (NODE_W + GAP_X), y: row[i] * (NODE_H + GAP_Y) }));
}

export function drawGraph(canvas, graph, { onOpen, onFocus, focus } = {}) {
  const placed = layout(graph.nodes, graph.edges);
  const byId = new Map(placed.map((n) => [n.id, n]));
  const links = graph.edges.map((e) => [byId.get(e.from), byId.get(e.to)]).filter(([a, b]) => a && b);
  const ctx = canvas.getContext("2d");
  const view = { x: 20, y: 20, k: 1 };
  const stats = { frames: 0, lastFrameMs: 0, drawnNodes: 0 };
  let focused = focus ? byId.get(focus) : null;
  let pending = false, drag = null;

  function size() {
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth, h = canvas.clientHeight;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr);
    }
    return { w, h, dpr };
  }

  function frame() {
    pending = false;
    const started = performance.now();
    const { w, h, dpr } = size();
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    ctx.setTransform(dpr * view.k, 0, 0, dpr * view.k, dpr * view.x, dpr * view.y);
    // The world rectangle in view: whatever lies outside it is never drawn.
    const x0 = -view.x / view.k, y0 = -view.y / view.k, x1 = x0 + w / view.k, y1 = y0 + h / view.k;
    const inView = (n) => n.x + NODE_W >= x0 && n.x <= x1 && n.y + NODE_H >= y0 && n.y <= y1;
    // The focused node's links over the others, in the accent colour: where it comes from, where it goes.
    const marked = focused || byId.get(focus);
    const touches = ([a, b]) => a === marked || b === marked;
    const strokeLinks = (keep, color, width) => {
      ctx.lineWidth = width / view.k;
      ctx.strokeStyle = color;
      ctx.beginPath();
      for (const link of links) {
        const [a, b] = link;
        const ax = a.x + NODE_W, ay = a.y + NODE_H / 2, bx = b.x, by = b.y + NODE_H / 2;
        if (Math.max(ax, bx) < x0 || Math.min(ax, bx) > x1 || Math.max(ay, by) < y0 || Math.min(ay, by) > y1) continue;
        if (!keep(link)) continue;
        const mid = (ax + bx) / 2;
        ctx.moveTo(ax, ay);
        ctx.bezierCurveTo(mid, ay, mid, by, bx, by);
      }
      ctx.stroke();
    };
    strokeLinks((link) => !marked || !touches(link), "#98a2b3", 1);
    if (marked) strokeLinks(touches, "#2457c5", 2);
    let drawn = 0;
    const detailed = view.k > 0.35; // far out, labels are unreadable: boxes only
    ctx.font = "12px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    for (const n of placed) {
      if (!inView(n)) continue;
      drawn++;
      const color = COLORS[n.kind] || "#667085";
      ctx.fillStyle = n === focused ? "#fef3e0" : "#fff";
      ctx.strokeStyle = color;
      ctx.lineWidth = (n === focused || n.id === focus ? 3 : 1.5) / view.k;
      ctx.beginPath();
      ctx.roundRect(n.x, n.y, NODE_W, NODE_H, 6);
      ctx.fill(); ctx.stroke();
      ctx.fillStyle = color;
      ctx.fillRect(n.x, n.y + 4, 4, NODE_H - 8);
      if (detailed) {
        ctx.fillStyle = "#1d2433";
        ctx.fillText(fit(n.label, NODE_W - 16), n.x + 10, n.y + NODE_H / 2);
      }
    }
    stats.frames++; stats.drawnNodes = drawn; stats.lastFrameMs = performance.now() - started;
  }

  function fit(text, width) {
    if (ctx.measureText(text).width <= width) return text;
    let cut = text.length;
    while (cut > 1 && ctx.measureText(text.slice(0, cut) + "…").width > width) cut--;
    return text.slice(0, cut) + "…";
  }

  function redraw() { if (!pending) { pending = true; requestAnimationFrame(frame); } }
  function panBy(dx, dy) { view.x += dx; view.y += dy; redraw(); }
  function zoomAt(px, py, factor) {
    const k = Math.min(4, Math.max(0.05, view.k * factor));
    view.x = px - ((px - view.x) * k) / view.k;
    view.y = py - ((py - view.y) * k) / view.k;
    view.k = k;
    redraw();
  }
  function center(n) {
    const { w, h } = size();
    view.x = w / 2 - (n.x + NODE_W / 2) * view.k;
    view.y = h / 2 - (n.y + NODE_H / 2) * view.k;
    redraw();
  }
  function extent() {
    const { w, h } = size();
    const width = Math.max(...placed.map((n) => n.x)) + NODE_W + 40, height = Math.max(...placed.map((n) => n.y)) + NODE_H + 40;
    return Math.min(w / width, h / height);
  }
  // The whole graph in view when it is small; a large one starts at its top left, readable.
  function fitView() {
    view.k = Math.min(1, Math.max(0.4, extent()));
    view.x = 20; view.y = 20;
    redraw();
  }
  function at(px, py) {
    const x = (px - view.x) / view.k, y = (py - view.y) / view.k;
    return placed.find((n) => x >= n.x && x <= n.x + NODE_W && y >= n.y && y <= n.y + NODE_H) || null;
  }
  function setFocus(n) {
    if (!n) return;
    focused = n;
    center(n);
    if (onFocus) onFocus(n);
  }

  canvas.addEventListener("pointerdown", (e) => {
    drag = { x: e.clientX, y: e.clientY, moved: 0 };
    canvas.setPointerCapture(e.pointerId);
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!drag) return;
    const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    drag.moved += Math.abs(dx) + Math.abs(dy);
    drag.x = e.clientX; drag.y = e.clientY;
    panBy(dx, dy);
  });
  canvas.addEventListener("pointerup", (e) => {
    const clicked = drag && drag.moved < 4;
    drag = null;
    if (!clicked) return;
    const box = canvas.getBoundingClientRect();
    const n = at(e.clientX - box.left, e.clientY - box.top);
    if (n && onOpen) onOpen(n);
  });
  canvas.addEventListener("wheel", (e) => {
    e.preventDefault();
    const box = canvas.getBoundingClientRect();
    zoomAt(e.clientX - box.left, e.clientY - box.top, Math.exp(-e.deltaY * 0.0015));
  }, { passive: false });
  canvas.addEventListener("keydown", (e) => {
    const current = focused || placed[0];
    if (!current) return;
    const same = (dl, dr) => placed.find((n) => n.layer === current.layer + dl && n.row === current.row + dr);
    const nearest = (dl) => placed.filter((n) => n.layer === current.layer + dl)
      .sort((a, b) => Math.abs(a.row - current.row) - Math.abs(b.row - current.row))[0];
    const moves = { ArrowDown: () => same(0, 1), ArrowUp: () => same(0, -1), ArrowRight: () => nearest(1), ArrowLeft: () => nearest(-1) };
    if (moves[e.key]) { e.preventDefault(); setFocus(moves[e.key]() || current); }
    else if (e.key === "Enter" && focused && onOpen) onOpen(focused);
    else if (e.key === "+" || e.key === "=") zoomAt(canvas.clientWidth / 2, canvas.clientHeight / 2, 1.25);
    else if (e.key === "-") zoomAt(canvas.clientWidth / 2, canvas.clientHeight / 2, 0.8);
  });
  new ResizeObserver(() => redraw()).observe(canvas);

  // A chain that fits readably is shown whole (the focused object highlighted in it); a larger one opens on
  // the focused object.
  if (focused && extent() < 0.4) center(focused); else fitView();
  return { redraw, panBy, zoomAt, setFocus: (id) => setFocus(byId.get(id)), stats, view, nodes: placed };
}
