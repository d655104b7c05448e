// The operators' dashboard: reads /dashboard/stats (server-sent events, one JSON snapshot a second)
// with fetch() rather than EventSource, because EventSource cannot send the X-Api-Key header and a
// key in the URL would end up in proxy logs and browser history. Figures are also kept in
// data-value attributes for the browser tests.

const KEY_STORE = "switchboard-dashboard-key";
const WINDOW_MS = 5 * 60 * 1000;
const RETRY_MS = 2000;
const CLOSE_CODES = {
  1000: "normal", 1001: "going away", 1002: "protocol error", 1007: "invalid payload", 1008: "policy",
  1009: "message too big", 1011: "internal error", 4000: "slow consumer", 4001: "heartbeat timeout",
  4002: "insufficient state", 4003: "token expired", 4500: "protocol violation", 4501: "unauthorized",
  4502: "forbidden", 4503: "rate limited", 4504: "too many connections",
};

const $ = id => document.getElementById(id);
const samples = [];

$("key-form").addEventListener("submit", event => {
  event.preventDefault();
  sessionStorage.setItem(KEY_STORE, $("key").value);
  $("key-form").hidden = true;
  connect();
});

async function connect() {
  const key = sessionStorage.getItem(KEY_STORE);
  setStream("connecting", "connecting…");
  let response;
  try {
    response = await fetch("/dashboard/stats", { headers: key ? { "X-Api-Key": key } : {}, cache: "no-store" });
  } catch {
    return retry();
  }
  if (response.status === 401) {
    sessionStorage.removeItem(KEY_STORE);
    setStream("unauthorized", "API key needed");
    $("key-message").textContent = key ? "That key was refused. The stats stream needs one of Switchboard:Api:Keys." : "This node's stats stream needs an HTTP API key (Switchboard:Api:Keys).";
    $("key-form").hidden = false;
    $("key").focus();
    return;
  }
  if (!response.ok || !response.body) {
    return retry();
  }
  try {
    for await (const event of serverSentEvents(response.body)) {
      if (event.type === "history") {
        samples.splice(0, samples.length, ...JSON.parse(event.data).samples);
        drawCharts();
      } else if (event.type === "stats") {
        setStream("live", "live");
        show(JSON.parse(event.data));
      }
    }
  } catch {
    // The stream broke (node restarted, network): try again below.
  }
  retry();
}

function retry() {
  setStream("disconnected", "disconnected, retrying…");
  setTimeout(connect, RETRY_MS);
}

/** Parses a text/event-stream body into { type, data } events. */
async function* serverSentEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  while (true) {
    const { value, done } = await reader.read();
    if (done) {
      return;
    }
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let type = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) type = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) {
        yield { type, data: data.join("\n") };
      }
    }
  }
}

function show(s) {
  $("node").textContent = `node ${s.node} · ${s.broker} broker`;
  $("unavailable").hidden = !s.unavailable;
  $("unavailable").textContent = s.unavailable ? `The broker is unavailable: ${s.unavailable}` : "";
  setValue("connections", s.connections);
  $("users").textContent = number(s.users);
  setValue("rooms", s.rooms);
  $("queued").textContent = `${number(s.queuedMessages)} msgs / ${bytes(s.queuedBytes)}`;
  const rate = s.perSecond;
  setValue("messages-in-rate", rate.messagesIn, rateText);
  setValue("messages-out-rate", rate.messagesOut, rateText);
  $("bytes-in-rate").textContent = bytes(rate.bytesIn);
  $("bytes-out-rate").textContent = bytes(rate.bytesOut);
  $("publications-rate").textContent = rateText(rate.publications);
  const totals = s.totals;
  setValue("messages-in-total", totals["messages.in"] ?? 0);
  setValue("messages-out-total", totals["messages.out"] ?? 0);
  setValue("bytes-out-total", totals["bytes.out"] ?? 0, bytes);
  setValue("publications-total", totals["publications"] ?? 0);
  setValue("slow-consumers", totals["slow_consumer.disconnects"] ?? 0);
  setValue("accepted-total", totals["connections.accepted"] ?? 0);

  rows("top-rooms", s.topRooms, r => [r.room, number(r.connections), number(r.users), r.perSecond == null ? "–" : rateText(r.perSecond)], "no rooms with members");
  rows("busy-rooms", s.busiestRooms, r => [r.room, rateText(r.perSecond), r.top == null ? "–" : number(r.top)], "no publications this second");
  rows("closes", Object.entries(s.closes), ([code, count]) => [code, CLOSE_CODES[code] ?? "", number(count)], "none yet");
  rows("errors", Object.entries(s.errors), ([code, count]) => [code, number(count)], "none yet");
  rows("nodes", s.nodes, n => [n.id === s.node ? `${n.id} (this node)` : n.id, number(n.connections), number(n.rooms), rateText(n.messagesInPerSecond), rateText(n.messagesOutPerSecond)], "");
  $("nodes-scope").textContent = s.cluster
    ? `${s.nodes.length} live node${s.nodes.length === 1 ? "" : "s"} sharing ${s.broker}`
    : "this node only: the memory broker serves one node";

  samples.push(rate);
  const oldest = rate.time - WINDOW_MS;
  while (samples.length && samples[0].time < oldest) {
    samples.shift();
  }
  drawCharts();
}

function setValue(id, value, format = number) {
  const element = $(id);
  element.dataset.value = String(value);
  element.textContent = format(value);
}

function rows(id, items, cells, empty) {
  const body = $(id);
  body.replaceChildren();
  if (!items.length && empty) {
    const tr = body.insertRow();
    const td = tr.insertCell();
    td.colSpan = 5;
    td.className = "empty";
    td.textContent = empty;
    return;
  }
  for (const item of items) {
    const tr = body.insertRow();
    for (const cell of cells(item)) {
      tr.insertCell().textContent = cell;
    }
  }
}

// ---- charts: two polylines on a plain SVG, scaled to the window's peak ----------------------------

function drawCharts() {
  drawChart($("messages-chart"), s => s.messagesIn, s => s.messagesOut, number);
  drawChart($("bytes-chart"), s => s.bytesIn, s => s.bytesOut, bytes);
}

function drawChart(svg, inOf, outOf, format) {
  // Drawn in the element's own pixels, so text and lines are never stretched.
  const width = Math.max(100, Math.round(svg.clientWidth || 600));
  const height = Math.max(60, Math.round(svg.clientHeight || 160));
  const top = 14;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const now = samples.length ? samples[samples.length - 1].time : Date.now();
  // The last five minutes, or less while the node is younger (at least a minute), so a new node's
  // first seconds are not a sliver at the right edge.
  const span = samples.length ? now - samples[0].time : 0;
  const shown = Math.min(WINDOW_MS, Math.max(60000, span));
  const step = shown <= 60000 ? 15000 : shown <= 180000 ? 30000 : 60000;
  const peak = niceCeiling(Math.max(1, ...samples.map(inOf), ...samples.map(outOf)));
  const x = t => width - ((now - t) / shown) * width;
  const y = v => height - (v / peak) * (height - top);
  const line = value => samples.map(s => `${x(s.time).toFixed(1)},${y(value(s)).toFixed(1)}`).join(" ");
  const grid = [0.25, 0.5, 0.75, 1].map(f => `<line class="grid" x1="0" x2="${width}" y1="${y(peak * f)}" y2="${y(peak * f)}"/>`).join("");
  const ticks = [];
  for (let ago = step; ago < shown; ago += step) {
    const label = ago % 60000 === 0 ? `-${ago / 60000} min` : `-${ago / 1000} s`;
    ticks.push(`<line class="grid" y1="0" y2="${height}" x1="${x(now - ago)}" x2="${x(now - ago)}"/><text class="axis" x="${x(now - ago) + 3}" y="${height - 3}">${label}</text>`);
  }
  // The area under each line, closed along the bottom edge.
  const area = value => samples.length ? `${x(samples[0].time).toFixed(1)},${height} ${line(value)} ${x(now).toFixed(1)},${height}` : "";
  svg.innerHTML = grid + ticks.join("") +
    `<text class="axis" x="3" y="${top - 3}">${format(peak)}</text>` +
    `<polygon class="out" points="${area(outOf)}"/><polyline class="out" points="${line(outOf)}"/>` +
    `<polygon class="in" points="${area(inOf)}"/><polyline class="in" points="${line(inOf)}"/>`;
  svg.dataset.samples = String(samples.length);
}

function niceCeiling(value) {
  const power = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map(m => m * power).find(c => c >= value);
}

// ---- formatting ---------------------------------------------------------------------------------

function setStream(state, text) {
  $("stream-state").dataset.state = state;
  $("stream-state").textContent = text;
}

function number(n) {
  return Math.round(n).toLocaleString("en-US");
}

function rateText(n) {
  return n >= 100 ? number(n) : (Math.round(n * 10) / 10).toLocaleString("en-US");
}

function bytes(n) {
  if (n >= 1048576) return `${(n / 1048576).toFixed(1)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${Math.round(n)} B`;
}

connect();
addEventListener("resize", drawCharts);
