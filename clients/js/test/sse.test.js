// The fallback to server-sent events against a real server: a client whose WebSocket cannot be
// opened talks over GET /events and POST /events/{session}, with the same ordering, recovery and
// close codes as over /ws; a client that can open a WebSocket keeps using it.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { Switchboard } from "../switchboard.js";
import { collect, gate, next, startServer, state, withTimeout } from "./helpers.js";

let server;
const clients = [];

/** A WebSocket that a proxy or a policy refuses: the constructor throws. */
class ThrowingWebSocket {
  constructor() {
    throw new Error("blocked");
  }
}

/** A WebSocket whose handshake fails: error then close 1006, never open (as a refused upgrade). */
class RefusedWebSocket {
  readyState = 0;
  constructor() {
    setImmediate(() => {
      this.readyState = 3;
      this.onerror?.({});
      this.onclose?.({ code: 1006, reason: "" });
    });
  }
  send() {
    throw new Error("never open");
  }
  close() {
    this.readyState = 3;
  }
}

/**
 * fetch for the client's `fetch` option that records the event streams it opens, so a test can cut
 * one (as a network failure would) with `streams.at(-1).cut()`.
 */
function cuttableFetch() {
  const streams = [];
  const gets = [];
  const fetchImpl = (url, init = {}) => {
    if ((init.method ?? "GET") !== "GET") return fetch(url, init);
    const controller = new AbortController();
    init.signal?.addEventListener("abort", () => controller.abort(init.signal.reason));
    streams.push({ url, cut: () => controller.abort(new Error("cut by the test")) });
    gets.push(url);
    return fetch(url, { ...init, signal: controller.signal });
  };
  return { fetch: fetchImpl, streams };
}

function connect(user, options = {}) {
  const client = new Switchboard(server.ws, { user, WebSocket: ThrowingWebSocket, backoff: { baseMs: 10, capMs: 50 }, ...options });
  clients.push(client);
  return client;
}

before(async () => {
  server = await startServer();
});

after(async () => {
  for (const client of clients) client.close();
  await server?.kill();
});

describe("falling back to server-sent events", () => {
  it("connects over SSE when the WebSocket constructor throws, and says so in transport and the state event", async () => {
    const client = connect("sse-a");
    const [, info] = await next(client, "state", (s) => s === "connected");
    assert.deepEqual(info, { transport: "sse" });
    assert.equal(client.transport, "sse");
    assert.match(client.session, /^[0-9a-f]{32}$/);
    assert.equal(client.user, "sse-a");
  });

  it("connects over SSE when the WebSocket handshake fails before open, without a reconnect", async () => {
    const client = connect("sse-b", { WebSocket: RefusedWebSocket });
    const states = [];
    client.on("state", (s) => states.push(s));
    await state(client, "connected");
    assert.equal(client.transport, "sse");
    assert.deepEqual(states, ["connecting", "connected"]);
  });

  it("joins, publishes, and receives in order beside a WebSocket client; presence and history work", async () => {
    const sse = connect("sse-pub");
    const ws = connect("ws-peer", { WebSocket });
    const sseRoom = sse.join("sse-chat");
    const wsRoom = ws.join("sse-chat");
    const sseSeen = collect(sseRoom);
    const wsSeen = collect(wsRoom);
    await withTimeout(Promise.all([sseRoom.joined, wsRoom.joined]), undefined, "joins");
    assert.equal(sse.transport, "sse");
    assert.equal(ws.transport, "websocket");

    // Many publishes at once: the adapter batches them into POSTs, one at a time, in call order.
    const replies = await withTimeout(Promise.all(Array.from({ length: 50 }, (_, i) => sseRoom.publish({ n: i }))), undefined, "50 publishes");
    assert.deepEqual(
      replies.map((r) => r.offset),
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    await wsRoom.publish({ n: "from ws" });
    for (const seen of [sseSeen, wsSeen]) {
      const items = await seen.count(51);
      assert.deepEqual(
        items.map((m) => m.offset),
        Array.from({ length: 51 }, (_, i) => i + 1),
      );
      assert.deepEqual(items[0].data, { n: 0 });
      assert.equal(items[50].from, "ws-peer");
    }

    const members = await withTimeout(sseRoom.presence(), undefined, "presence");
    assert.deepEqual(members.map((m) => m.user).sort(), ["sse-pub", "ws-peer"]);
    const history = await withTimeout(sseRoom.history({ limit: 3 }), undefined, "history");
    assert.deepEqual(
      history.messages.map((m) => m.offset),
      [49, 50, 51],
    );

    const direct = next(sse, "direct");
    await ws.send("sse-pub", { hello: "sse" });
    const [d] = await direct;
    assert.deepEqual(d, { from: "ws-peer", data: { hello: "sse" } });
  });

  it("gets presence events and binary publications (as base64) from WebSocket peers", async () => {
    const sse = connect("sse-presence");
    const room = sse.join("sse-presence-room");
    await withTimeout(room.joined, undefined, "join");
    const presence = next(room, "presence", (p) => p.user === "ws-presence" && p.type === "joined");
    const ws = connect("ws-presence", { WebSocket });
    const wsRoom = ws.join("sse-presence-room");
    await withTimeout(wsRoom.joined, undefined, "ws join");
    await presence;

    const binary = next(room, "message", (m) => m.binary);
    await wsRoom.publish(new Uint8Array([1, 2, 3]));
    const [m] = await binary;
    assert.deepEqual(Array.from(m.data), [1, 2, 3]);
    assert.ok(m.data instanceof Uint8Array);
  });

  it("rejects a binary publish over SSE with binary_unsupported", async () => {
    const sse = connect("sse-binary");
    const room = sse.join("sse-binary-room");
    await withTimeout(room.joined, undefined, "join");
    await assert.rejects(room.publish(new Uint8Array([1])), (e) => e.code === "binary_unsupported");
    // The connection is unaffected.
    assert.equal((await room.publish({ still: "fine" })).offset, 1);
  });

  it("recovers what it missed, in order and exactly once, after its event stream is cut", async () => {
    const recorder = cuttableFetch();
    // The reconnect waits (in getToken) until the test has published what the client misses.
    const away = gate();
    let connects = 0;
    const getToken = async () => {
      if (connects++ > 0) await away.promise;
      return null;
    };
    const sse = connect("sse-recover", { fetch: recorder.fetch, getToken });
    const room = sse.join("sse-recover-room");
    const seen = collect(room);
    await withTimeout(room.joined, undefined, "join");
    const ws = connect("ws-recover", { WebSocket });
    const wsRoom = ws.join("sse-recover-room");
    await withTimeout(wsRoom.joined, undefined, "ws join");
    await wsRoom.publish({ n: 1 });
    await seen.count(1);

    const firstSession = sse.session;
    const reconnecting = next(sse, "state", (s) => s === "reconnecting");
    recorder.streams.at(-1).cut();
    const [, info] = await reconnecting;
    assert.equal(info.code, 1006);
    // Published while the SSE client is away: recovered by the re-join with since.
    for (let n = 2; n <= 6; n++) await wsRoom.publish({ n });
    const recovering = next(room, "recovered");
    away.open();
    const [recovered] = await recovering;
    assert.equal(sse.transport, "sse");
    assert.notEqual(sse.session, firstSession);
    assert.equal(recovered.count, 5);
    await wsRoom.publish({ n: 7 });
    const items = await seen.count(7);
    assert.deepEqual(
      items.map((m) => m.data.n),
      [1, 2, 3, 4, 5, 6, 7],
    );
    assert.equal(recorder.streams.length, 2);
  });

  it("closes for good on 4501 (a token the server refuses): no reconnect", async () => {
    const client = connect(undefined, { token: "not-a-jwt" });
    const states = [];
    client.on("state", (s) => states.push(s));
    const [, info] = await next(client, "state", (s) => s === "closed");
    assert.equal(info.code, 4501);
    assert.deepEqual(states, ["connecting", "closed"]);
    assert.equal(client.transport, "sse");
  });

  it("uses the WebSocket when it can be opened", async () => {
    const client = connect("ws-first", { WebSocket });
    const [, info] = await next(client, "state", (s) => s === "connected");
    assert.deepEqual(info, { transport: "websocket" });
    assert.equal(client.transport, "websocket");
  });

  it("uses SSE alone with transports: ['sse'], even when a WebSocket could be opened", async () => {
    const client = connect("sse-only", { WebSocket, transports: ["sse"] });
    await state(client, "connected");
    assert.equal(client.transport, "sse");
  });
});

describe("a draining server", () => {
  it("ends an SSE session with 1001 and the client reconnects at once", async () => {
    const draining = await startServer();
    const client = new Switchboard(draining.ws, { user: "sse-drain", WebSocket: ThrowingWebSocket, backoff: { baseMs: 10, capMs: 50 } });
    try {
      await state(client, "connected");
      const reconnecting = next(client, "state", (s) => s === "reconnecting");
      const stopped = draining.stop();
      const [, info] = await reconnecting;
      assert.equal(info.code, 1001);
      assert.equal(info.delayMs, 0);
      await stopped;
    } finally {
      client.close();
      await draining.kill();
    }
  });
});
