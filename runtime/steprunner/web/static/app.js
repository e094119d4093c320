// The page's wiring: pick a flow, draw it, save dragged nodes, show traces and stream items live.
// Every URL is under /__steprunner/, so a step that takes `/` or `/docs` cannot break the page.

import { authFetch } from "./auth.js";
import { FlowView } from "./flow-view.js";
import { StreamsView } from "./streams-view.js";
import { TracesView } from "./traces-view.js";

const API = "/__steprunner";
const ALL = ""; // the picker's value for "every step", flows or not

const select = document.getElementById("flow-select");
const status = document.getElementById("flow-status");
let current = { flow: null, savable: false };

function say(text, isError = false) {
  status.textContent = text;
  status.classList.toggle("is-error", isError);
}

async function savePosition(node) {
  if (!current.savable) {
    say(current.flow ? "positions are not saved: see the warning above" : "positions are saved per flow: pick a flow to keep this layout");
    return;
  }
  const response = await authFetch(`${API}/positions`, {
    method: "PUT",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ flow: current.flow, file: node.file, x: node.x, y: node.y }),
  });
  const answer = await response.json();
  if (response.ok) say(`saved ${node.name} at (${answer.x}, ${answer.y}) to ${answer.savedTo}`);
  else say(`could not save: ${answer.message}`, true);
}

const flowView = new FlowView({
  world: document.getElementById("world"),
  nodes: document.getElementById("nodes"),
  edges: document.getElementById("edges"),
  onMove: savePosition,
});

async function showFlow(name) {
  const url = name ? `${API}/flow?name=${encodeURIComponent(name)}` : `${API}/flow`;
  const response = await authFetch(url);
  const graph = await response.json();
  if (!response.ok) { say(graph.message, true); return; }
  current = { flow: graph.flow, savable: graph.savable };
  flowView.render(graph);
  flowView.fit();
  showFoldToggles();
  document.body.dataset.flow = graph.flow ?? ALL;
  const count = `${graph.nodes.length} step${graph.nodes.length === 1 ? "" : "s"}, ${graph.edges.length} link${graph.edges.length === 1 ? "" : "s"}`;
  if (graph.warning) say(`${count} · ${graph.warning}`, true);
  else say(count);
  const params = new URLSearchParams(location.search);
  if (name) { params.set("flow", name); params.delete("view"); } else { params.delete("flow"); params.set("view", "all"); }
  history.replaceState(null, "", `${location.pathname}?${params}`);
}

/** The legend's fold toggles: each shows how many arrows it holds; hidden when the flow has none. */
function showFoldToggles() {
  const counts = flowView.foldCounts();
  for (const box of document.querySelectorAll("input[data-fold]")) {
    const fold = box.dataset.fold;
    box.checked = flowView.unfolded.has(fold);
    box.closest("label").hidden = counts[fold] === 0;
    box.closest("label").querySelector(".fold__count").textContent = `(${counts[fold]})`;
  }
}

for (const box of document.querySelectorAll("input[data-fold]")) {
  box.addEventListener("change", () => flowView.setFold(box.dataset.fold, box.checked));
}

document.getElementById("zoom-in").addEventListener("click", () => flowView.setZoom(flowView.zoom * 1.2));
document.getElementById("zoom-out").addEventListener("click", () => flowView.setZoom(flowView.zoom / 1.2));
document.getElementById("zoom-fit").addEventListener("click", () => flowView.fit());

async function start() {
  const answer = await authFetch(`${API}/flows`);
  const info = await answer.json();
  if (!answer.ok) { say(info.message, true); return; }
  const options = info.flows.map((f) => new Option(f, f));
  options.push(new Option(`(all ${info.steps} steps)`, ALL));
  select.replaceChildren(...options);
  const params = new URLSearchParams(location.search);
  const wanted = params.get("view") === "all" ? ALL : params.get("flow") ?? info.default ?? ALL;
  select.value = info.flows.includes(wanted) ? wanted : ALL;
  select.addEventListener("change", () => showFlow(select.value || null));
  await showFlow(select.value || null);
  await streams.load(async () => {
    const response = await authFetch(`${API}/streams`);
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.message);
    return answer;
  });
  document.body.dataset.ready = "true";
}

const traces = new TracesView({
  list: document.getElementById("trace-list"),
  detail: document.getElementById("trace-detail"),
  live: document.getElementById("live"),
  onOpen: (detail) => flowView.highlight(detail ? detail.spans.map((s) => s.step) : []),
});
traces.connect(`${API}/trace-stream`);

const streams = new StreamsView({
  panel: document.getElementById("streams"),
  list: document.getElementById("stream-list"),
  form: document.getElementById("stream-form"),
  group: document.getElementById("stream-group"),
  status: document.getElementById("stream-status"),
  schema: document.getElementById("stream-schema"),
  items: document.getElementById("stream-items"),
});
start().catch((err) => say(`could not load the flow: ${err}`, true));
