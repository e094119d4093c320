// The streams panel: the project's streams (GET /__steprunner/streams), and one group's items live.
// The items come over the server's own WebSocket, in Motia's protocol: the page joins the group,
// gets a `sync` with every item, then a `create`, `update` or `delete` for each change.
// Browsers cannot set headers on a WebSocket: the staff key, when there is one, goes as `?authToken=`.
// Each item shows as one line, its `message` when it has one; newest first, so a change made
// live lands at the top of the list, highlighted for a moment.

import { authHeaders } from "./auth.js";

const RECONNECT_MS = 2000;
const META = new Set(["id", "_createdAt", "__motia"]); // what the runtime adds to every item

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function socketUrl(key) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/${key ? `?authToken=${encodeURIComponent(key)}` : ""}`;
}

/** One line for an item: its `message`, else its fields as `key: value` pairs. */
export function itemText(item) {
  if (typeof item.message === "string" && item.message) return item.message;
  const fields = Object.entries(item).filter(([k]) => !META.has(k));
  return fields.map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`).join(" · ");
}

export class StreamsView {
  /** @param {{panel: HTMLElement, list: HTMLElement, form: HTMLFormElement, group: HTMLInputElement,
   *           status: HTMLElement, schema: HTMLElement, items: HTMLElement}} parts */
  constructor({ panel, list, form, group, status, schema, items }) {
    Object.assign(this, { panel, list, form, group, status, schema, items });
    this.streams = new Map(); // name -> {name, file, schema}
    this.picked = null; // stream name
    this.watching = null; // {stream, group, sub}
    this.rows = new Map(); // item id -> item
    this.fresh = null; // the id of the item changed last, shown highlighted
    this.socket = null;
    this.serial = 0;
    form.addEventListener("submit", (e) => { e.preventDefault(); this.watch(); });
  }

  /** Fetch the stream list; the panel stays hidden when the project has no streams. */
  async load(fetchJson) {
    const answer = await fetchJson();
    this.streams = new Map(answer.streams.map((s) => [s.name, s]));
    this.panel.hidden = this.streams.size === 0;
    this.list.replaceChildren(...answer.streams.map((s) => {
      const button = el("button", { type: "button", class: "stream", "data-stream": s.name, title: s.file }, s.name);
      button.addEventListener("click", () => this.pick(s.name));
      const li = el("li");
      li.append(button);
      return li;
    }));
    if (this.streams.size === 1) this.pick(answer.streams[0].name, { focus: false }); // nothing else to pick
  }

  pick(name, { focus = true } = {}) {
    this.picked = name;
    for (const b of this.list.querySelectorAll("button.stream")) b.classList.toggle("is-picked", b.dataset.stream === name);
    const s = this.streams.get(name);
    this.schema.hidden = false;
    this.schema.replaceChildren(el("summary", {}, `${s.file} · schema`), el("pre", {}, JSON.stringify(s.schema, null, 2)));
    if (this.group.value.trim()) this.watch();
    else {
      this.say(`type a group id of ${name}`);
      if (focus) this.group.focus();
    }
  }

  say(text, isError = false) {
    this.status.textContent = text;
    this.status.classList.toggle("is-error", isError);
  }

  /** Leave the group watched so far and join the picked stream's group typed in. */
  watch() {
    const group = this.group.value.trim();
    if (!this.picked || !group) { this.say(this.picked ? "type a group id" : "pick a stream above first"); return; }
    if (this.watching) this.send("leave", this.watching);
    this.watching = { stream: this.picked, group, sub: `page-${++this.serial}` };
    this.rows = new Map();
    this.panel.dataset.synced = "";
    this.render();
    this.say(`joining ${group} of ${this.picked}…`);
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.send("join", this.watching);
    else this.connect();
  }

  async connect() {
    if (this.socket) return; // opening: its `open` joins what is watched by then
    const key = (await authHeaders()).Authorization?.slice("Bearer ".length);
    const socket = new WebSocket(socketUrl(key));
    this.socket = socket;
    socket.addEventListener("open", () => { if (this.watching) this.send("join", this.watching); });
    socket.addEventListener("message", (e) => this.onMessage(JSON.parse(e.data)));
    socket.addEventListener("close", () => {
      this.socket = null;
      if (!this.watching) return;
      this.say("connection lost: reconnecting…", true);
      setTimeout(() => { if (this.watching && !this.socket) this.connect(); }, RECONNECT_MS);
    });
  }

  send(type, { stream, group, sub }) {
    this.socket?.send(JSON.stringify({ type, data: { streamName: stream, groupId: group, subscriptionId: sub } }));
  }

  onMessage(message) {
    const w = this.watching;
    if (!w || message.streamName !== w.stream || message.groupId !== w.group) return; // a group left meanwhile
    const event = message.event || {};
    if (event.type === "sync") {
      this.rows = new Map((event.data || []).map((item) => [item.id, item]));
      this.panel.dataset.synced = `${w.stream}/${w.group}`;
    } else if (event.type === "create" || event.type === "update") {
      this.rows.set(event.data.id, event.data);
      this.fresh = event.data.id;
    } else if (event.type === "delete") {
      this.rows.delete(event.data.id);
    } else if (event.type === "event" && event.event?.type === "error") {
      this.say(`${w.stream}/${w.group}: ${event.event.data?.message ?? "error"}`, true);
      return;
    } else {
      return; // a custom event sent to the group: not an item
    }
    this.say(`${w.stream} · ${w.group}: ${this.rows.size} item${this.rows.size === 1 ? "" : "s"} · live`);
    this.render();
  }

  /** Newest first (a `set` renews `_createdAt`); the whole item is in the row's tooltip and `data-json`. */
  render() {
    const items = [...this.rows.values()].sort((a, b) => (b._createdAt ?? 0) - (a._createdAt ?? 0) || String(b.id).localeCompare(String(a.id)));
    this.items.replaceChildren(...items.map((item) => {
      const { id, ...rest } = item;
      const json = JSON.stringify(rest);
      const row = el("tr", { class: `stream-item${id === this.fresh ? " is-fresh" : ""}`, "data-id": id, "data-json": json, title: json });
      const summary = typeof item.message !== "string" || !item.message;
      row.append(el("td", { class: "stream-item__id" }, id), el("td", { class: `stream-item__text${summary ? " is-summary" : ""}` }, itemText(item)));
      return row;
    }));
    this.items.querySelector("tr.is-fresh")?.scrollIntoView({ block: "nearest" });
  }
}
