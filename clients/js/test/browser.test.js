// The client in a real browser (Debian's headless Chromium): imported from the server's
// /switchboard.js by a page of another origin, with the browser's own WebSocket, binary frames as
// ArrayBuffers, and the window's offline/online events. Skipped when Chromium is not installed.
import { after, before, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, withTimeout } from "./helpers.js";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const available = existsSync(CHROMIUM);

let server;
let pages;
let browser;
let profile;

/** The page: runs the client and reports what it saw with a POST to /report. */
function page(sbHttp, sbWs) {
  return `<!doctype html><meta charset="utf-8"><script type="module">
const report = (body) => fetch("/report", { method: "POST", body: JSON.stringify(body) });
const timeout = (p, what) => Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error("timeout: " + what)), 10000))]);
try {
  const { Switchboard } = await import("${sbHttp}/switchboard.js");
  const client = new Switchboard("${sbWs}", { user: "browser", backoff: { baseMs: 10, capMs: 50 } });
  const states = [];
  client.on("state", (s, info) => states.push(s === "reconnecting" ? s + ":" + info.code + ":" + info.reason : s));
  const room = client.join("browser-room");
  const messages = [];
  room.on("message", (m) => messages.push({ offset: m.offset, binary: m.binary, data: m.binary ? Array.from(m.data) : m.data, isU8: m.data instanceof Uint8Array }));
  await timeout(room.joined, "joined");
  await timeout(room.publish({ text: "from the browser" }), "publish");
  await timeout(room.publish(new Uint8Array([7, 8, 9])), "binary publish");
  await timeout(new Promise((res) => (messages.length >= 2 ? res() : room.on("message", () => messages.length >= 2 && res()))), "own messages");

  const recovered = new Promise((res) => room.on("recovered", res));
  window.dispatchEvent(new Event("offline"));
  const stateAfterOffline = client.state;
  window.dispatchEvent(new Event("online"));
  const r = await timeout(recovered, "recovered after online");
  report({ ok: true, user: client.user, states, messages, stateAfterOffline, recovered: r, finalState: client.state });
  client.close();
} catch (error) {
  report({ ok: false, error: String(error && error.stack || error) });
}
</script>`;
}

before(async () => {
  if (!available) return;
  server = await startServer();
});

after(async () => {
  if (browser && browser.exitCode === null) {
    try {
      process.kill(-browser.pid, "SIGKILL"); // the browser and the helper processes it started
    } catch {
      // Already gone.
    }
  }
  pages?.close();
  await server?.kill();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

it("works in a browser: imported cross-origin from /switchboard.js, binary frames, offline/online", { skip: !available && `${CHROMIUM} is not installed` }, async () => {
  let resolveReport;
  const reported = new Promise((res) => (resolveReport = res));
  pages = createServer((req, res) => {
    if (req.method === "POST" && req.url === "/report") {
      let body = "";
      req.on("data", (chunk) => (body += chunk));
      req.on("end", () => {
        res.end("ok");
        resolveReport(JSON.parse(body));
      });
      return;
    }
    res.setHeader("content-type", "text/html; charset=utf-8");
    res.end(page(server.http, server.ws));
  });
  await new Promise((res) => pages.listen(0, "127.0.0.1", res));
  const url = `http://127.0.0.1:${pages.address().port}/`;

  profile = mkdtempSync(join(tmpdir(), "switchboard-chromium-"));
  browser = spawn(
    CHROMIUM,
    ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", `--user-data-dir=${profile}`, url],
    { detached: true, stdio: "ignore" },
  );

  const result = await withTimeout(reported, 60_000, "the browser's report");
  assert.equal(result.ok, true, result.error);
  assert.equal(result.user, "browser");
  assert.deepEqual(result.messages, [
    { offset: 1, binary: false, data: { text: "from the browser" }, isU8: false },
    { offset: 2, binary: true, data: [7, 8, 9], isU8: true },
  ]);
  assert.equal(result.stateAfterOffline, "reconnecting");
  assert.deepEqual(result.recovered, { count: 0 });
  assert.deepEqual(result.states, ["connecting", "connected", "reconnecting:1006:offline", "connected"]);
  assert.equal(result.finalState, "connected");
});
