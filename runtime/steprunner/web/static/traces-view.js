// The traces panel: a live list fed by server-sent events, and the detail of one trace.
// The server pushes a trace's summary whenever it changes; the open trace's detail is
// fetched again when (and only when) such a push says it changed. Nothing polls.
// The stream is read with fetch() rather than EventSource, which cannot send the staff key.

import { authFetch } from "./auth.js";

const RECONNECT_MS = 2000;

const MAX_LISTED = 300;

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

export function ms(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const v = seconds * 1000;
  return v < 10 ? `${v.toFixed(1)} ms` : v < 1000 ? `${Math.round(v)} ms` : `${(v / 1000).toFixed(2)} s`;
}

function origin(t) {
  const o = t.origin || {};
  if (o.kind === "api") return `${o.method || ""} ${o.path || o.step}`.trim();
  if (o.kind === "cron") return `cron ${o.step}`;
  if (o.kind === "event") return `event ${o.topic || ""} → ${o.step}`;
  return o.step || "?";
}

/** `host:pid` of a node (`host:pid:token`, as its journal claims name it; database mode only). */
function nodeName(node) {
  return node.split(":").slice(0, 2).join(":");
}

const OUTCOME_TEXT = { ok: "ok", retried: "retried", dead: "dead-lettered", error: "error", running: "running" };

/** A topic as text and <wbr> after each dot: it wraps between its parts, not inside one. */
function breakAtDots(text) {
  return text.split(/(?<=\.)/).flatMap((part, i) => (i ? [document.createElement("wbr"), part] : [part]));
}

export class TracesView {
  /** @param {{list: HTMLElement, detail: HTMLElement, live: HTMLElement, onOpen: (detail: object|null) => void}} parts */
  constructor({ list, detail, live, onOpen }) {
    this.list = list;
    this.detailEl = detail;
    this.live = live;
    this.onOpen = onOpen;
    this.traces = new Map();
    this.openId = null;
    this.refetch = null;
  }

  /** Read the stream for good: reconnect (after the server's `retry`) whenever it ends or fails. */
  async connect(url) {
    let retry = RECONNECT_MS;
    for (;;) {
      try {
        const response = await authFetch(url, { headers: { Accept: "text/event-stream" } });
        if (response.ok && response.body) {
          this.setLive(true);
          await readEvents(response.body, (event, data) => this.onEvent(event, data), (ms) => { retry = ms; });
        }
      } catch {
        // the server went away: show it, and try again below
      }
      this.setLive(false);
      await new Promise((resolve) => setTimeout(resolve, retry));
    }
  }

  onEvent(event, data) {
    if (event === "snapshot") {
      this.traces = new Map(JSON.parse(data).traces.map((t) => [t.traceId, t]));
      this.scheduleList();
      if (this.openId) this.loadDetail();
    } else if (event === "trace") {
      const t = JSON.parse(data);
      this.traces.set(t.traceId, t);
      this.scheduleList();
      if (t.traceId === this.openId) this.loadDetail();
    }
  }

  setLive(on) {
    this.live.textContent = on ? "● live" : "reconnecting…";
    this.live.className = `live ${on ? "live--on" : "live--off"}`;
  }

  /** Under load many traces change at once: redraw the list at most once per frame. */
  scheduleList() {
    if (this.listFrame) return;
    this.listFrame = requestAnimationFrame(() => { this.listFrame = null; this.renderList(); });
  }

  renderList() {
    const all = [...this.traces.values()].sort((a, b) => b.started - a.started);
    for (const t of all.slice(MAX_LISTED)) this.traces.delete(t.traceId); // the server forgets old traces too
    const rows = all.slice(0, MAX_LISTED);
    this.list.replaceChildren(...rows.map((t) => this.row(t)));
  }

  row(t) {
    const li = el("li", { class: `trace${t.traceId === this.openId ? " is-open" : ""}`, "data-trace-id": t.traceId, "data-status": t.status, tabindex: "0" });
    li.append(
      el("span", { class: `status status--${t.status}` }, t.status),
      el("span", { class: "trace__origin" }, origin(t)),
      el("span", { class: "trace__time" }, t.status === "running" ? "running…" : ms(t.duration)),
      el("span", { class: "trace__id" }, t.traceId.slice(0, 8)),
      el("span", { class: "trace__meta" }, `${t.steps} step${t.steps === 1 ? "" : "s"}${t.retries ? ` · ${t.retries} retried` : ""} · ${t.logs} log line${t.logs === 1 ? "" : "s"}`),
    );
    const open = () => this.open(t.traceId);
    li.addEventListener("click", open);
    li.addEventListener("keydown", (ev) => { if (ev.key === "Enter") open(); });
    return li;
  }

  open(traceId) {
    this.openId = traceId;
    this.renderList();
    this.loadDetail();
  }

  close() {
    this.openId = null;
    this.detailEl.hidden = true;
    this.renderList();
    this.onOpen(null);
  }

  /** Coalesce bursts of pushes for the open trace into one fetch. */
  loadDetail() {
    if (this.refetch) return;
    this.refetch = setTimeout(async () => {
      this.refetch = null;
      const id = this.openId;
      if (!id) return;
      const response = await authFetch(`/__steprunner/traces/${encodeURIComponent(id)}`);
      if (id !== this.openId) return;
      if (!response.ok) { this.renderMissing(id); return; }
      const detail = await response.json();
      this.renderDetail(detail);
      this.onOpen(detail);
    }, 30);
  }

  renderMissing(id) {
    this.detailEl.hidden = false;
    this.detailEl.replaceChildren(el("p", {}, `Trace ${id} is no longer kept in memory.`));
  }

  renderDetail(t) {
    const d = this.detailEl;
    d.hidden = false;
    d.dataset.traceId = t.traceId;
    const head = el("h3", {});
    const close = el("button", { class: "close", title: "close", "aria-label": "close trace" }, "×");
    close.addEventListener("click", () => this.close());
    head.append(el("span", {}, origin(t)), close);
    const summary = el("p", { class: "trace-summary" });
    summary.append(
      el("span", { class: `status status--${t.status}` }, t.status), " · ",
      t.status === "running" ? "running…" : `total ${ms(t.duration)}`, " · trace ",
      el("code", { class: "trace-id" }, t.traceId),
    );
    d.replaceChildren(head, summary, el("h4", {}, "Steps"), this.spansTable(t), el("h4", {}, "Log"), this.logList(t));
    if (t.dropped) d.append(el("p", { class: "trace__meta" }, `${t.dropped} more entries were not kept (per-trace limit).`));
  }

  spansTable(t) {
    const table = el("table", { class: "spans" });
    const head = el("tr", {});
    for (const [h, cls] of [["step", ""], ["start", "num"], ["duration", "num"], ["outcome", ""], ["", ""]]) head.append(el("th", cls ? { class: cls } : {}, h));
    table.append(head);
    const end = Math.max(t.ended || 0, ...t.spans.map((s) => s.started + (s.duration || 0)), Date.now() / 1000 * (t.status === "running" ? 1 : 0));
    const total = Math.max(end - t.started, 0.001);
    for (const s of t.spans) {
      const tr = el("tr", { class: "span", "data-step": s.step, "data-outcome": s.outcome, "data-kind": s.kind });
      const trigger = s.kind === "event" ? `${s.topic}${s.attempt > 1 ? ` (try ${s.attempt})` : ""}` : s.kind === "api" ? `HTTP${s.status ? ` ${s.status}` : ""}` : "cron";
      const outcome = el("td", { class: `status status--${s.outcome}` }, OUTCOME_TEXT[s.outcome] || s.outcome);
      if (s.error) outcome.title = s.error;
      const bar = el("div", { class: "waterfall" });
      const left = ((s.started - t.started) / total) * 100, width = ((s.duration || 0) / total) * 100;
      bar.append(el("i", { class: s.outcome, style: `left:${Math.max(0, left)}%;width:${Math.min(100, width)}%` }));
      const barCell = el("td", { class: "bar-cell" });
      barCell.append(bar);
      const name = el("td", { class: "span__step" }, s.step);
      const triggerLine = el("div", { class: "span__trigger" });
      triggerLine.append(...breakAtDots(trigger));
      name.append(triggerLine);
      if (s.node) name.append(el("div", { class: "span__trigger span__node", title: s.node }, `on ${nodeName(s.node)}`));
      tr.append(
        name,
        el("td", { class: "num" }, `+${ms(s.started - t.started)}`),
        el("td", { class: "num" }, s.duration === null ? "…" : ms(s.duration)),
        outcome, barCell,
      );
      table.append(tr);
    }
    return table;
  }

  logList(t) {
    const list = el("ol", { class: "logs" });
    if (!t.logLines.length) list.append(el("li", { class: "trace__meta" }, "no log lines"));
    for (const line of t.logLines) {
      const li = el("li", { class: `log log--${line.level}`, "data-step": line.step || "" });
      const { traceback, ...fields } = line.fields || {};
      li.append(
        el("span", { class: "trace__meta" }, `+${ms(line.time - t.started)} `),
        el("span", { class: "log__level" }, (line.level || "").toUpperCase()),
        el("span", { class: "log__step", title: line.node || "" }, line.node ? `${line.step || ""} @${nodeName(line.node)}` : line.step || ""),
        el("span", { class: "log__message" }, line.message || ""),
      );
      if (Object.keys(fields).length) li.append(" ", el("span", { class: "log__fields" }, JSON.stringify(fields)));
      if (traceback) li.append(el("pre", { class: "log__traceback" }, traceback));
      list.append(li);
    }
    return list;
  }
}

/** Server-sent events from a fetch() body: `onEvent(event, data)` per message, `onRetry(ms)` per `retry:`. */
async function readEvents(body, onEvent, onRetry) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) continue; // a keepalive comment
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") event = text;
        else if (field === "data") data.push(text);
        else if (field === "retry" && /^\d+$/.test(text)) onRetry(Number(text));
      }
      if (data.length) onEvent(event, data.join("\n"));
    }
  }
}
