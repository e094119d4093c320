// The flow canvas: one HTML box per step, one SVG arrow per topic link, nodes draggable.
// The server decides positions (motia-workbench.json, else a layered layout) and node sizes;
// this file only draws them and reports where a node was dropped. Two kinds of arrows are
// folded away until asked for, so the main chain reads first: catch-up links (they re-send what
// the flow already sends, for recovery) and the virtual links of outside actors (noop steps).

const SVG = "http://www.w3.org/2000/svg";
const PAD = 24; // space around the drawing
const LOOP = 50; // how far a self-link bulges out to the right
const SIDE_BY_SIDE = 30; // less vertical room than this between two nodes: join them by their sides
const LOOP_LABEL_CHARS = 12; // a self-link's label wraps to lines this long
export const FOLDS = ["recovery", "staff"]; // arrow kinds folded away by default
const ZOOM_MIN = 0.3, ZOOM_MAX = 1.5;

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

const NORMAL = { top: [0, -1], bottom: [0, 1], left: [-1, 0], right: [1, 0] };

/** The point at fraction f along one side of a node. */
function sidePoint(n, side, f) {
  const x = side === "left" ? n.x : side === "right" ? n.x + n.width : n.x + n.width * f;
  const y = side === "top" ? n.y : side === "bottom" ? n.y + n.height : n.y + n.height * f;
  return { x, y };
}

/** An arrow's two Bézier control points: straight out of the side it leaves, straight into the one it enters. */
function controls(a, b) {
  const bend = Math.max(40, Math.hypot(b.x - a.x, b.y - a.y) / 3);
  const [n1, n2] = [NORMAL[a.side], NORMAL[b.side]];
  return [[a.x + n1[0] * bend, a.y + n1[1] * bend], [b.x + n2[0] * bend, b.y + n2[1] * bend]];
}

/** Words joined into lines of at most `width` characters (a longer word keeps a line to itself). */
function wrap(text, width) {
  const lines = [];
  for (const word of text.split(/\s+/)) {
    const last = lines.length - 1;
    if (last >= 0 && lines[last].length + 1 + word.length <= width) lines[last] += ` ${word}`;
    else lines.push(word);
  }
  return lines;
}

export class FlowView {
  /** @param {{world: HTMLElement, nodes: HTMLElement, edges: SVGSVGElement, onMove: (node: object) => void}} parts */
  constructor({ world, nodes, edges, onMove }) {
    this.world = world;
    this.nodesLayer = nodes;
    this.edgesLayer = edges;
    this.onMove = onMove;
    this.graph = { nodes: [], edges: [] };
    this.byId = new Map();
    this.offset = { x: PAD, y: PAD };
    this.size = { width: 0, height: 0 }; // the drawing's size at zoom 1
    this.zoom = 1;
    this.scale = { x: 1, y: 1 }; // page pixels per motia-workbench.json unit (the server says)
    this.unfolded = new Set(); // the FOLDS shown
  }

  /** Which fold an arrow belongs to, if any: catch-up links, else an outside actor's virtual links. */
  foldOf(e) {
    if (e.recovery) return "recovery";
    return e.virtual && this.byId.get(e.source)?.type === "noop" ? "staff" : null;
  }

  isShown(e) {
    const fold = this.foldOf(e);
    return !fold || this.unfolded.has(fold);
  }

  /** How many arrows each fold holds in the drawn flow. */
  foldCounts() {
    const counts = Object.fromEntries(FOLDS.map((f) => [f, 0]));
    for (const e of this.graph.edges) if (this.foldOf(e)) counts[this.foldOf(e)]++;
    return counts;
  }

  /** Show or fold one kind of arrow; the others' ports are spread again around what is shown. */
  setFold(fold, shown) {
    if (shown) this.unfolded.add(fold); else this.unfolded.delete(fold);
    this.drawEdges();
  }

  /** Scale the drawing (CSS zoom keeps scrolling right); positions stay in flow units. */
  setZoom(zoom) {
    this.zoom = Math.min(ZOOM_MAX, Math.max(ZOOM_MIN, Math.round(zoom * 100) / 100));
    this.world.style.zoom = String(this.zoom);
    this.world.dataset.zoom = String(this.zoom);
    this.world.dataset.scaleX = String(this.scale.x); // so a test can turn screen pixels into file units
    this.world.dataset.scaleY = String(this.scale.y);
  }

  /** Zoom out until the whole flow fits the canvas (never above 1: small flows stay full size). */
  fit() {
    const canvas = this.world.parentElement;
    const { width, height } = this.size;
    if (!width || !height) return;
    this.setZoom(Math.floor(Math.min(1, (canvas.clientWidth - 4) / width, (canvas.clientHeight - 4) / height) * 100) / 100);
  }

  render(graph) {
    this.scale = graph.scale ?? { x: 1, y: 1 };
    for (const n of graph.nodes) { n.x *= this.scale.x; n.y *= this.scale.y; } // file units -> pixels
    this.graph = graph;
    this.byId = new Map(graph.nodes.map((n) => [n.id, n]));
    const xs = graph.nodes.map((n) => n.x), ys = graph.nodes.map((n) => n.y);
    this.offset = { x: PAD - Math.min(0, ...xs), y: PAD - Math.min(0, ...ys) };
    this.nodesLayer.replaceChildren(...graph.nodes.map((n) => this.nodeElement(n)));
    this.drawEdges();
  }

  nodeElement(n) {
    const box = el("div", {
      class: `node node--${n.type}`,
      "data-id": n.id, "data-name": n.name, "data-type": n.type,
      title: [n.description, n.file].filter(Boolean).join("\n"),
    });
    Object.assign(box.style, { width: `${n.width}px`, height: `${n.height}px` });
    const head = el("div", { class: "node__head" });
    head.append(el("span", { class: `badge badge--${n.type}` }, n.type), el("span", { class: "node__name", title: n.name }, n.name));
    box.append(head);
    for (const line of n.details) box.append(el("div", { class: "node__detail" }, line));
    this.place(box, n);
    this.makeDraggable(box, n);
    return box;
  }

  place(box, n) {
    box.style.left = `${n.x + this.offset.x}px`;
    box.style.top = `${n.y + this.offset.y}px`;
    const spot = this.fileSpot(n);
    box.dataset.x = String(spot.x); // the position in flow units, as motia-workbench.json keeps it
    box.dataset.y = String(spot.y);
  }

  /** A node's position in motia-workbench.json's units (two decimals, as the server keeps them). */
  fileSpot(n) {
    const round = (v) => Math.round(v * 100) / 100;
    return { x: round(n.x / this.scale.x), y: round(n.y / this.scale.y) };
  }

  makeDraggable(box, n) {
    box.addEventListener("pointerdown", (down) => {
      if (down.button !== 0) return;
      down.preventDefault();
      box.setPointerCapture(down.pointerId);
      box.classList.add("is-dragging");
      const start = { x: n.x, y: n.y, px: down.clientX, py: down.clientY };
      let moved = false;
      const move = (ev) => {
        const dx = (ev.clientX - start.px) / this.zoom, dy = (ev.clientY - start.py) / this.zoom; // screen px -> page px
        if (!moved && Math.hypot(dx, dy) < 3) return; // a click is not a move
        moved = true;
        n.x = Math.round(start.x + dx);
        n.y = Math.round(start.y + dy);
        this.place(box, n);
        this.drawEdges();
      };
      const up = () => {
        box.removeEventListener("pointermove", move);
        box.removeEventListener("pointerup", up);
        box.removeEventListener("pointercancel", up);
        box.classList.remove("is-dragging");
        if (moved) this.onMove({ ...n, ...this.fileSpot(n) });
      };
      box.addEventListener("pointermove", move);
      box.addEventListener("pointerup", up);
      box.addEventListener("pointercancel", up);
    });
  }

  /**
   * Which sides an arrow leaves and enters by. As in Motia's Workbench, out at the bottom and
   * in at the top (top -> bottom when the target is above); nodes side by side (more room
   * between them across than down, as in a flow laid out in columns) are joined right -> left
   * (or left -> right).
   */
  sides(s, t) {
    const dx = t.x + t.width / 2 - (s.x + s.width / 2), dy = t.y + t.height / 2 - (s.y + s.height / 2);
    const vGap = dy > 0 ? t.y - (s.y + s.height) : s.y - (t.y + t.height);
    const hGap = dx > 0 ? t.x - (s.x + s.width) : s.x - (t.x + t.width);
    const across = dx > 0 ? ["right", "left"] : ["left", "right"], down = dy > 0 ? ["bottom", "top"] : ["top", "bottom"];
    if (vGap < SIDE_BY_SIDE) return across;
    // the nearer way round first, unless its curve would run through another node
    const tries = hGap > vGap ? [across, down] : [down, across];
    return tries.find((pair) => !this.blocked(s, t, pair)) ?? tries[0];
  }

  /** Whether the curve between the middles of these sides of s and t crosses a third node. */
  blocked(s, t, [out, into]) {
    const a = { ...sidePoint(s, out, 0.5), side: out }, b = { ...sidePoint(t, into, 0.5), side: into };
    const [c1, c2] = controls(a, b);
    const others = this.graph.nodes.filter((n) => n !== s && n !== t);
    for (let i = 1; i < 24; i++) {
      const u = i / 24, v = 1 - u;
      const x = v * v * v * a.x + 3 * v * v * u * c1[0] + 3 * v * u * u * c2[0] + u * u * u * b.x;
      const y = v * v * v * a.y + 3 * v * v * u * c1[1] + 3 * v * u * u * c2[1] + u * u * u * b.y;
      if (others.some((n) => x > n.x && x < n.x + n.width && y > n.y && y < n.y + n.height)) return true;
    }
    return false;
  }

  /** The point each arrow leaves from and arrives at: arrows sharing a side are spread along it. */
  ports(edges) {
    const groups = new Map();
    const add = (nodeId, side, edge, end, other) => {
      const key = `${nodeId}|${side}`;
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push({ edge, end, other });
    };
    for (const e of edges) {
      if (e.source === e.target) continue;
      const s = this.byId.get(e.source), t = this.byId.get(e.target);
      const [out, into] = this.sides(s, t);
      add(e.source, out, e, "out", t);
      add(e.target, into, e, "in", s);
    }
    const points = new Map();
    for (const [key, list] of groups) {
      const [nodeId, side] = key.split("|");
      const n = this.byId.get(nodeId);
      const horizontal = side === "top" || side === "bottom";
      list.sort((a, b) => (horizontal ? a.other.x - b.other.x : a.other.y - b.other.y));
      list.forEach(({ edge, end }, i) => {
        points.set(`${edge.id}|${end}`, { ...sidePoint(n, side, (i + 1) / (list.length + 1)), side });
      });
    }
    return points;
  }

  drawEdges() {
    const { x: ox, y: oy } = this.offset;
    const nodes = this.graph.nodes;
    const loops = this.graph.edges.some((e) => e.source === e.target && this.isShown(e));
    const width = Math.max(0, ...nodes.map((n) => n.x + n.width)) + ox + PAD + (loops ? LOOP : 0);
    const height = Math.max(0, ...nodes.map((n) => n.y + n.height)) + oy + PAD;
    this.size = { width, height };
    Object.assign(this.world.style, { width: `${width}px`, height: `${height}px` });
    this.edgesLayer.setAttribute("width", width);
    this.edgesLayer.setAttribute("height", height);
    for (const old of this.edgesLayer.querySelectorAll("g.edge")) old.remove();
    const shown = this.graph.edges.filter((e) => this.isShown(e));
    const points = this.ports(shown), folded = this.ports(this.graph.edges);
    for (const e of this.graph.edges) {
      const s = this.byId.get(e.source);
      let d, lx, ly, lines = [e.label];
      if (e.source === e.target) {
        const x = s.x + s.width + ox, y1 = s.y + oy + s.height * 0.3, y2 = s.y + oy + s.height * 0.7;
        d = `M${x},${y1} C${x + LOOP},${y1 - 30} ${x + LOOP},${y2 + 30} ${x},${y2}`;
        lx = x + LOOP * 0.75; ly = (y1 + y2) / 2;
        lines = wrap(e.label, LOOP_LABEL_CHARS); // on the loop, not across the node it leaves
      } else {
        const ends = this.isShown(e) ? points : folded;
        const a = ends.get(`${e.id}|out`), b = ends.get(`${e.id}|in`);
        const [x1, y1, x2, y2] = [a.x + ox, a.y + oy, b.x + ox, b.y + oy];
        const [c1, c2] = controls({ x: x1, y: y1, side: a.side }, { x: x2, y: y2, side: b.side });
        d = `M${x1},${y1} C${c1[0]},${c1[1]} ${c2[0]},${c2[1]} ${x2},${y2}`;
        // the cubic's midpoint (t = 0.5) carries the label
        lx = (x1 + 3 * c1[0] + 3 * c2[0] + x2) / 8; ly = (y1 + 3 * c1[1] + 3 * c2[1] + y2) / 8;
      }
      const kind = e.conditional ? "conditional" : e.virtual ? "virtual" : "";
      const fold = this.foldOf(e);
      const g = svg("g", {
        class: `edge${e.virtual ? " edge--virtual" : ""}${e.conditional ? " edge--conditional" : ""}${fold && !this.unfolded.has(fold) ? " is-folded" : ""}`,
        "data-source": e.source, "data-target": e.target, "data-topic": e.topic, "data-label": e.label,
        "data-virtual": String(e.virtual), "data-conditional": String(e.conditional), "data-fold": fold ?? "",
      });
      const title = svg("title");
      title.textContent = `${e.topic}${e.label !== e.topic ? ` (${e.label})` : ""}${e.virtual ? " · virtual" : ""}${e.conditional ? " · conditional" : ""}`;
      const path = svg("path", { class: "edge__line", d, "marker-end": `url(#arrow${kind ? `-${kind}` : ""})` });
      const bg = svg("rect", { class: "edge__label-bg", rx: 3 });
      const label = svg("text", { class: "edge__label", x: lx, y: ly, "text-anchor": "middle", "dominant-baseline": "middle" });
      lines.forEach((line, i) => {
        const span = svg("tspan", { x: lx, dy: i ? "1.15em" : `${-(lines.length - 1) * 0.575}em` });
        span.textContent = i < lines.length - 1 ? `${line} ` : line; // the label's text stays whole
        label.append(span);
      });
      g.append(title, path, bg, label);
      this.edgesLayer.append(g);
      const box = label.getBBox();
      Object.entries({ x: box.x - 3, y: box.y - 1, width: box.width + 6, height: box.height + 2 }).forEach(([k, v]) => bg.setAttribute(k, v));
    }
    this.growToLabels();
  }

  /** A label past the last node (a self-link's, say) must not stick out of the scrolled area. */
  growToLabels() {
    const right = Math.max(0, ...[...this.edgesLayer.querySelectorAll("g.edge:not(.is-folded) rect")].map((r) => r.getBBox().x + r.getBBox().width));
    if (right + PAD / 2 <= this.size.width) return;
    this.size.width = Math.ceil(right + PAD / 2);
    this.world.style.width = `${this.size.width}px`;
    this.edgesLayer.setAttribute("width", this.size.width);
  }

  /** Outline the nodes of the steps a trace touched (step names), or clear with []. */
  highlight(stepNames) {
    const names = new Set(stepNames);
    for (const box of this.nodesLayer.children) box.classList.toggle("is-touched", names.has(box.dataset.name));
  }
}
