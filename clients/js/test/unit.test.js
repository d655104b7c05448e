// Unit tests without a server: a fake WebSocket and fake timers drive the client step by step.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Switchboard, backoffDelay, decodeBinaryMessage, encodeBinaryPublish, shouldReconnect, tokenExpiry } from "../switchboard.js";
import { makeJwt } from "./helpers.js";

const CONNECT_TIMEOUT = 999_999;
const STABLE_MS = 5_000;

/** A scriptable WebSocket: the test opens it, feeds it frames and drops it. */
function fakeWebSocketClass() {
  const sockets = [];
  class FakeSocket {
    constructor(url, protocols) {
      this.url = url;
      this.protocols = protocols;
      this.readyState = 0;
      this.sent = [];
      sockets.push(this);
    }
    send(data) {
      this.sent.push(data);
    }
    close(code = 1000, reason = "") {
      this.readyState = 3;
      queueMicrotask(() => this.onclose?.({ code, reason }));
    }
    /** Opens the socket and delivers a welcome. */
    welcome(user = "u") {
      this.readyState = 1;
      this.onopen?.({});
      this.receive(JSON.stringify({ op: "welcome", session: "s" + sockets.indexOf(this), user, ping: 25 }));
    }
    receive(data) {
      this.onmessage?.({ data });
    }
    drop(code = 1006, reason = "") {
      this.readyState = 3;
      this.onclose?.({ code, reason });
    }
    /** The JSON commands sent so far. */
    commands() {
      return this.sent.filter((d) => typeof d === "string").map((d) => JSON.parse(d));
    }
  }
  return { FakeSocket, sockets };
}

function fakeTimers() {
  const pending = new Map();
  let nextId = 0;
  return {
    pending,
    setTimeout: (fn, ms) => {
      pending.set(++nextId, { fn, ms });
      return nextId;
    },
    clearTimeout: (id) => pending.delete(id),
    /** Runs the pending timer of `ms` milliseconds; fails when there is none. */
    fire(ms) {
      for (const [id, timer] of pending) {
        if (timer.ms === ms) {
          pending.delete(id);
          timer.fn();
          return;
        }
      }
      assert.fail(`no pending timer of ${ms} ms (pending: ${[...pending.values()].map((t) => t.ms)})`);
    },
    /** Delays of the pending timers other than the connect deadline and the stable-connection reset. */
    retries() {
      return [...pending.values()].map((t) => t.ms).filter((ms) => ms !== CONNECT_TIMEOUT && ms !== STABLE_MS);
    },
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

function fakeClient(options = {}) {
  const { FakeSocket, sockets } = fakeWebSocketClass();
  const timers = fakeTimers();
  const client = new Switchboard("ws://fake/ws", {
    WebSocket: FakeSocket,
    setTimeout: timers.setTimeout,
    clearTimeout: timers.clearTimeout,
    connectTimeoutMs: CONNECT_TIMEOUT,
    requestTimeoutMs: 0,
    backoff: { baseMs: 100, capMs: 1000, stableMs: STABLE_MS },
    // The WebSocket path alone: a socket dropped before its welcome would otherwise fall back to SSE.
    transports: ["websocket"],
    ...options,
  });
  const states = [];
  client.on("state", (state, info) => states.push([state, info]));
  return { client, sockets, timers, states };
}

describe("backoff", () => {
  it("draws a full-jitter delay below min(cap, base * 2^(attempt-1))", () => {
    const backoff = { baseMs: 100, capMs: 1000 };
    const ceilings = [100, 200, 400, 800, 1000, 1000, 1000];
    ceilings.forEach((ceiling, i) => {
      assert.equal(backoffDelay(i + 1, backoff, () => 0), 0, "full jitter reaches down to 0");
      assert.equal(backoffDelay(i + 1, backoff, () => 0.5), ceiling / 2);
      assert.equal(backoffDelay(i + 1, backoff, () => 0.999999), ceiling - 1, "and stays below the ceiling");
    });
    for (let i = 0; i < 1000; i++) {
      const delay = backoffDelay(30, backoff);
      assert.ok(delay >= 0 && delay < 1000, `capped: ${delay}`);
    }
  });

  it("schedules reconnects with the drawn delays, growing per failed attempt up to the cap", async () => {
    const { client, sockets, timers, states } = fakeClient({ random: () => 0.5 });
    await tick();
    const expected = [50, 100, 200, 400, 500, 500];
    for (let attempt = 1; attempt <= expected.length; attempt++) {
      sockets.at(-1).drop(1006, "refused");
      const [state, info] = states.at(-1);
      assert.equal(state, "reconnecting");
      assert.deepEqual(info, { delayMs: expected[attempt - 1], attempt, code: 1006, reason: "refused" });
      assert.deepEqual(timers.retries(), [expected[attempt - 1]]);
      timers.fire(expected[attempt - 1]);
      await tick();
      assert.equal(sockets.length, attempt + 1, "one new socket per attempt");
    }
    client.close();
  });

  it("resets the attempt counter once a connection stayed up for the stable period", async () => {
    const { client, sockets, timers, states } = fakeClient({ random: () => 0.5 });
    await tick();
    sockets[0].drop();
    timers.fire(50);
    await tick();
    sockets[1].drop();
    assert.equal(states.at(-1)[1].attempt, 2);
    timers.fire(100);
    await tick();

    sockets[2].welcome();
    sockets[2].drop();
    assert.equal(states.at(-1)[1].attempt, 3, "a short-lived connection does not reset the counter");
    timers.fire(200);
    await tick();

    sockets[3].welcome();
    timers.fire(STABLE_MS);
    sockets[3].drop();
    assert.deepEqual(states.at(-1)[1], { delayMs: 50, attempt: 1, code: 1006, reason: "" });
    client.close();
  });

  it("reconnects at once on 1001 (drain)", async () => {
    const { client, sockets, timers, states } = fakeClient({ random: () => 0.5 });
    await tick();
    sockets[0].welcome();
    sockets[0].drop(1001, "draining");
    assert.deepEqual(states.at(-1), ["reconnecting", { delayMs: 0, attempt: 1, code: 1001, reason: "draining" }]);
    timers.fire(0);
    await tick();
    assert.equal(sockets.length, 2);
    client.close();
  });

  it("does not reconnect on 4500-4999 or client-fault codes, and reconnects on the others", async () => {
    for (const code of [4500, 4501, 4502, 4503, 4504, 4999, 1002, 1007, 1009]) {
      assert.equal(shouldReconnect(code), false, `${code}`);
      const { sockets, timers, states } = fakeClient();
      await tick();
      sockets[0].welcome();
      sockets[0].drop(code, "no");
      assert.deepEqual(states.at(-1), ["closed", { code, reason: "no" }]);
      assert.deepEqual(timers.retries(), []);
      assert.equal(timers.pending.size, 0, "no timer left behind");
    }
    for (const code of [1000, 1001, 1006, 1011, 1012, 4000, 4001, 4002, 4003, 4499]) {
      assert.equal(shouldReconnect(code), true, `${code}`);
    }
  });
});

describe("frames", () => {
  it("splits a batched text frame into messages and replies, in order, dropping duplicate offsets", async () => {
    const { client, sockets } = fakeClient();
    await tick();
    const socket = sockets[0];
    socket.welcome("alice");
    assert.equal(client.user, "alice");
    assert.equal(client.session, "s0");
    const room = client.join("lobby");
    const got = [];
    room.on("message", (m) => got.push(m.offset));
    const [join] = socket.commands();
    assert.deepEqual(join, { op: "join", room: "lobby", id: join.id });

    const line = (offset) => JSON.stringify({ op: "message", room: "lobby", from: "bob", offset, data: { offset } });
    socket.receive([JSON.stringify({ op: "reply", id: join.id, offset: 4, epoch: "e1" }), line(4), line(5), line(6), line(5), line(7), ""].join("\n"));
    assert.deepEqual(got, [5, 6, 7], "offsets at or below the last delivered one are never delivered");
    assert.deepEqual(await room.joined, { offset: 4, epoch: "e1" });
    client.close();
  });

  it("stops delivering the rest of a frame once a listener closed the client", async () => {
    const { client, sockets } = fakeClient();
    await tick();
    sockets[0].welcome();
    const room = client.join("r");
    const got = [];
    room.on("message", (m) => {
      got.push(m.offset);
      if (m.offset === 2) client.close();
    });
    const line = (offset) => JSON.stringify({ op: "message", room: "r", from: null, offset, data: null });
    sockets[0].receive([JSON.stringify({ op: "reply", id: sockets[0].commands()[0].id, offset: 0, epoch: "e" }), line(1), line(2), line(3)].join("\n"));
    assert.deepEqual(got, [1, 2]);
  });

  it("encodes binary publishes and decodes binary messages as documented", () => {
    assert.deepEqual([...encodeBinaryPublish("r1", new Uint8Array([0xde, 0xad]))], [0x01, 0x02, 0x72, 0x31, 0xde, 0xad]);
    const frame = new Uint8Array([0x02, 2, 0x72, 0x31, 0, 0, 0, 0, 0, 0, 1, 0x2c, 3, 0x62, 0x6f, 0x62, 0xca, 0xfe]);
    assert.deepEqual(decodeBinaryMessage(frame.buffer), { room: "r1", from: "bob", offset: 300, data: new Uint8Array([0xca, 0xfe]), binary: true });
    const fromApi = new Uint8Array([0x02, 1, 0x72, 0, 0, 0, 0, 0, 0, 0, 9, 0]);
    assert.deepEqual(decodeBinaryMessage(fromApi), { room: "r", from: null, offset: 9, data: new Uint8Array([]), binary: true });
    assert.equal(decodeBinaryMessage(new Uint8Array([0x02, 5, 0x72])), null);
    assert.equal(decodeBinaryMessage(new Uint8Array([0x01, 0])), null);
  });

  it("re-joins with since, delivers recovered publications before live ones, and reports the count", async () => {
    const { client, sockets, timers } = fakeClient({ random: () => 0 });
    await tick();
    sockets[0].welcome();
    const room = client.join("r");
    const got = [];
    const recovered = [];
    room.on("message", (m) => got.push(m.offset));
    room.on("recovered", (r) => recovered.push(r));
    sockets[0].receive(JSON.stringify({ op: "reply", id: sockets[0].commands()[0].id, offset: 2, epoch: "e" }));
    sockets[0].receive(JSON.stringify({ op: "message", room: "r", from: "x", offset: 3, data: 3 }));

    sockets[0].drop();
    timers.fire(0);
    await tick();
    sockets[1].welcome();
    const [rejoin] = sockets[1].commands();
    assert.deepEqual(rejoin.since, { offset: 3, epoch: "e" });
    const pub = (offset) => ({ op: "message", room: "r", from: "x", offset, data: offset });
    sockets[1].receive(
      [JSON.stringify({ op: "reply", id: rejoin.id, offset: 5, epoch: "e", recovered: true, publications: [pub(4), pub(5)] }), JSON.stringify(pub(6))].join("\n"),
    );
    assert.deepEqual(got, [3, 4, 5, 6]);
    assert.deepEqual(recovered, [{ count: 2 }]);
    client.close();
  });

  it("emits reset and continues from the new top when the join reply says recovered:false", async () => {
    const { client, sockets, timers } = fakeClient({ random: () => 0 });
    await tick();
    sockets[0].welcome();
    const room = client.join("r", { since: { offset: 10, epoch: "old" } });
    assert.deepEqual(sockets[0].commands()[0].since, { offset: 10, epoch: "old" });
    const got = [];
    const resets = [];
    room.on("message", (m) => got.push(m.offset));
    room.on("reset", (r) => resets.push(r));
    const pub = (offset) => JSON.stringify({ op: "message", room: "r", from: "x", offset, data: offset });
    sockets[0].receive([JSON.stringify({ op: "reply", id: sockets[0].commands()[0].id, offset: 2, epoch: "new", recovered: false, publications: [] }), pub(3)].join("\n"));
    assert.deepEqual(resets, [{ reason: "epoch_changed" }]);
    assert.deepEqual(got, [3]);
    assert.deepEqual(room.position, { offset: 3, epoch: "new" });
    timers.pending.clear();
    client.close();
  });

  it("marks a room removed by the server as left, emits removed, and does not rejoin it after a reconnect", async () => {
    const { client, sockets, timers } = fakeClient({ random: () => 0 });
    await tick();
    sockets[0].welcome();
    const room = client.join("r");
    const kept = client.join("k");
    const removed = [];
    const got = [];
    room.on("removed", (r) => removed.push(r));
    room.on("message", (m) => got.push(m.offset));
    const [joinR, joinK] = sockets[0].commands();
    sockets[0].receive(JSON.stringify({ op: "reply", id: joinR.id, offset: 0, epoch: "e" }));
    sockets[0].receive(JSON.stringify({ op: "reply", id: joinK.id, offset: 0, epoch: "e" }));

    sockets[0].receive(JSON.stringify({ op: "removed", room: "r", code: "forbidden", message: "the refreshed token no longer allows r" }));
    sockets[0].receive(JSON.stringify({ op: "message", room: "r", from: "x", offset: 1, data: 1 }));

    assert.deepEqual(removed, [{ code: "forbidden", message: "the refreshed token no longer allows r" }]);
    assert.deepEqual(got, [], "nothing of a removed room is delivered");
    await assert.rejects(room.publish("x"), (e) => e.code === "not_joined");
    sockets[0].drop();
    timers.fire(0);
    await tick();
    sockets[1].welcome();
    assert.deepEqual(
      sockets[1].commands().map((c) => [c.op, c.room]),
      [["join", "k"]],
      "only the kept room is joined again",
    );
    assert.equal(kept._left, false);
    timers.pending.clear();
    client.close();
  });
});

describe("stream lost (removed with rejoin)", () => {
  it("re-joins the room at once with its position, emits reset rather than removed, and keeps the other room", async () => {
    const { client, sockets, timers } = fakeClient({ random: () => 0 });
    await tick();
    sockets[0].welcome();
    const room = client.join("r");
    const kept = client.join("k");
    const events = [];
    const got = [];
    room.on("removed", (r) => events.push(["removed", r]));
    room.on("reset", (r) => events.push(["reset", r]));
    room.on("message", (m) => got.push(m.offset));
    kept.on("message", (m) => got.push(`k${m.offset}`));
    const [joinR, joinK] = sockets[0].commands();
    sockets[0].receive(JSON.stringify({ op: "reply", id: joinR.id, offset: 4, epoch: "old" }));
    sockets[0].receive(JSON.stringify({ op: "reply", id: joinK.id, offset: 0, epoch: "e" }));
    sockets[0].receive(JSON.stringify({ op: "message", room: "r", from: "x", offset: 5, data: 5 }));

    sockets[0].receive(JSON.stringify({ op: "removed", room: "r", code: "stream_lost", message: "lost", rejoin: true }));
    const rejoin = sockets[0].commands().at(-1);
    assert.deepEqual([rejoin.op, rejoin.room, rejoin.since], ["join", "r", { offset: 5, epoch: "old" }]);
    // Nothing of the room counts before the re-join's reply; the other room flows.
    sockets[0].receive(JSON.stringify({ op: "message", room: "r", from: "x", offset: 1, data: 1 }));
    sockets[0].receive(JSON.stringify({ op: "message", room: "k", from: "x", offset: 1, data: 1 }));
    sockets[0].receive(JSON.stringify({ op: "reply", id: rejoin.id, room: "r", offset: 1, epoch: "new", recovered: false, publications: [{ from: "x", offset: 1, data: 1 }] }));
    sockets[0].receive(JSON.stringify({ op: "message", room: "r", from: "x", offset: 2, data: 2 }));

    assert.deepEqual(events, [["reset", { reason: "epoch_changed" }]]);
    assert.deepEqual(got, [5, "k1", 2]);
    assert.deepEqual(room.position, { offset: 2, epoch: "new" });
    assert.equal(room._left, false);
    sockets[0].drop();
    timers.fire(0);
    await tick();
    sockets[1].welcome();
    assert.deepEqual(
      sockets[1].commands().map((c) => [c.op, c.room]),
      [["join", "r"], ["join", "k"]],
      "both rooms are joined again after a reconnect",
    );
    timers.pending.clear();
    client.close();
  });
});

describe("offline queue and requests", () => {
  it("queues commands while disconnected, rejects the oldest on overflow, flushes in order after the joins", async () => {
    const { client, sockets } = fakeClient({ offlineQueue: 2 });
    const room = client.join("q");
    const first = room.publish({ n: 1 });
    const second = room.publish({ n: 2 });
    const third = room.publish({ n: 3 });
    await assert.rejects(first, { code: "offline_queue_full" });
    await tick();
    sockets[0].welcome();
    const commands = sockets[0].commands();
    assert.deepEqual(commands.map((c) => c.op), ["join", "publish", "publish"]);
    assert.deepEqual(commands.slice(1).map((c) => c.data.n), [2, 3]);
    sockets[0].receive(commands.map((c, i) => JSON.stringify({ op: "reply", id: c.id, offset: i, epoch: "e" })).join("\n"));
    assert.deepEqual(await second, { offset: 1, epoch: "e" });
    assert.deepEqual(await third, { offset: 2, epoch: "e" });
    client.close();
  });

  it("rejects requests in flight with disconnected, and everything with closed on close()", async () => {
    const { client, sockets } = fakeClient();
    await tick();
    sockets[0].welcome();
    const room = client.join("q");
    const inFlight = room.publish({});
    const history = room.history({ limit: 1 });
    sockets[0].drop();
    await assert.rejects(inFlight, { code: "disconnected" });
    await assert.rejects(history, { code: "disconnected" });
    const queued = client.send("bob", {});
    client.close();
    await assert.rejects(queued, { code: "closed" });
    await assert.rejects(room.publish({}), { code: "closed" });
    assert.equal(client.state, "closed");
  });

  it("rejects with the server's error code", async () => {
    const { client, sockets } = fakeClient();
    await tick();
    sockets[0].welcome();
    const sent = client.send("bob", { hi: 1 });
    const command = sockets[0].commands()[0];
    assert.deepEqual(command, { op: "send", user: "bob", data: { hi: 1 }, id: command.id });
    sockets[0].receive(JSON.stringify({ op: "error", id: command.id, code: "rate_limited", message: "slow down" }));
    await assert.rejects(sent, (error) => error.code === "rate_limited" && error.message === "slow down");
    client.close();
  });

  it("serializes at the call: later changes are not sent, unserializable data rejects with invalid_data", async () => {
    const { client, sockets } = fakeClient();
    const room = client.join("s");
    const data = { n: 1 };
    const queued = room.publish(data);
    data.n = 2;
    const bytes = new Int16Array([1]);
    const binary = room.publish(bytes);
    bytes[0] = 2;
    await assert.rejects(room.publish({ big: 1n }), { code: "invalid_data" });
    await tick();
    sockets[0].welcome();
    const [, publish] = sockets[0].commands();
    assert.equal(publish.data.n, 1);
    assert.deepEqual([...sockets[0].sent.find((d) => typeof d !== "string")], [0x01, 1, 0x73, 1, 0]);
    await binary;
    sockets[0].receive(JSON.stringify({ op: "reply", id: publish.id, offset: 1, epoch: "e" }));
    await queued;
    client.close();
  });

  it("keeps a room whose join failed with a retryable error and joins it again after a backoff", async () => {
    const { client, sockets, timers } = fakeClient({ random: () => 0.5 });
    await tick();
    sockets[0].welcome();
    const room = client.join("busy");
    const errors = [];
    room.on("error", (e) => errors.push(e.code));
    const first = sockets[0].commands()[0];
    sockets[0].receive(JSON.stringify({ op: "error", id: first.id, code: "unavailable", message: "redis is down" }));
    assert.deepEqual(errors, ["unavailable"]);
    assert.equal(client.join("busy"), room, "the room is kept");
    timers.fire(50);
    const second = sockets[0].commands()[1];
    assert.equal(second.op, "join");
    sockets[0].receive(JSON.stringify({ op: "reply", id: second.id, offset: 0, epoch: "e" }));
    assert.deepEqual(await room.joined, { offset: 0, epoch: "e" });

    const refused = client.join("refused");
    const third = sockets[0].commands()[2];
    sockets[0].receive(JSON.stringify({ op: "error", id: third.id, code: "forbidden", message: "no" }));
    await assert.rejects(refused.joined, { code: "forbidden" });
    assert.notEqual(client.join("refused"), refused, "a refused room is forgotten");
    client.close();
    assert.equal(timers.pending.size, 0, "close leaves no timer behind");
  });

  it("refuses a URL that cannot be parsed, at construction", () => {
    assert.throws(() => new Switchboard("not a url", { WebSocket: class {} }), TypeError);
  });

  it("offers the token as a subprotocol, or sends it as a first auth message, and adds ?user=", async () => {
    const token = makeJwt("k".repeat(32), { sub: "a", exp: 2_000_000_000 });
    assert.equal(tokenExpiry(token), 2_000_000_000_000);
    const sub = fakeClient({ token, user: "dev user" });
    await tick();
    assert.deepEqual(sub.sockets[0].protocols, ["switchboard.v1", "bearer." + token]);
    assert.equal(sub.sockets[0].url, "ws://fake/ws?user=dev%20user");
    sub.client.close();

    const message = fakeClient({ token, authMessage: true });
    await tick();
    assert.deepEqual(message.sockets[0].protocols, ["switchboard.v1"]);
    message.sockets[0].readyState = 1;
    message.sockets[0].onopen({});
    assert.deepEqual(message.sockets[0].commands(), [{ op: "auth", token }]);
    message.client.close();
  });
});

/** A scriptable EventSource for the client's `EventSource` option, and a fetch that records POSTs. */
function fakeEventStream() {
  const sources = [];
  const posts = [];
  class FakeEventSource {
    constructor(url) {
      this.url = url;
      this.closed = false;
      sources.push(this);
    }
    close() {
      this.closed = true;
    }
    welcome(user = "u") {
      this.receive({ op: "welcome", session: "es" + sources.indexOf(this), user, ping: 25 });
    }
    receive(message) {
      this.onmessage?.({ data: JSON.stringify(message) });
    }
    fail() {
      this.onerror?.({});
    }
  }
  const fetch = (url, init) =>
    new Promise((resolve) => {
      posts.push({ url, body: init.body, respond: (status = 202) => resolve({ status, ok: status < 300, body: null }) });
    });
  return { FakeEventSource, sources, posts, fetch };
}

describe("transports", () => {
  const WS_RETRY = 60_000;

  function fallbackClient(options = {}) {
    const stream = fakeEventStream();
    const fake = fakeClient({
      transports: ["websocket", "sse"],
      EventSource: stream.FakeEventSource,
      fetch: stream.fetch,
      wsRetryMs: WS_RETRY,
      random: () => 0,
      ...options,
    });
    return { ...fake, ...stream };
  }

  it("falls back to SSE within the same attempt when the WebSocket closes before it opens", async () => {
    const { client, sockets, sources, states } = fallbackClient({ user: "al" });
    await tick();
    sockets[0].drop(1006);
    assert.equal(sources.length, 1, "the same attempt goes on over SSE");
    assert.equal(sources[0].url, "http://fake/events?user=al");
    assert.equal(client.transport, "sse");
    sources[0].welcome();
    assert.deepEqual(states, [
      ["connecting", {}],
      ["connected", { transport: "sse" }],
    ]);
    client.close();
  });

  it("falls back to SSE when the WebSocket constructor throws, or its handshake outlasts connectTimeoutMs", async () => {
    const thrown = fallbackClient({
      WebSocket: class {
        constructor() {
          throw new Error("blocked");
        }
      },
    });
    await tick();
    assert.equal(thrown.sources.length, 1);
    thrown.client.close();

    const hung = fallbackClient();
    await tick();
    hung.timers.fire(CONNECT_TIMEOUT);
    assert.equal(hung.sources.length, 1);
    assert.equal(hung.sockets.length, 1);
    hung.client.close();
  });

  it("stays on SSE for reconnects until wsRetryMs has passed, then tries the WebSocket first again", async () => {
    const { client, sockets, sources, timers } = fallbackClient();
    await tick();
    sockets[0].drop(1006);
    sources[0].welcome();

    sources[0].fail();
    assert.equal(client.state, "reconnecting");
    timers.fire(0);
    await tick();
    assert.equal(sockets.length, 1, "no WebSocket within wsRetryMs of its failure");
    assert.equal(sources.length, 2);
    sources[1].welcome();

    timers.fire(WS_RETRY);
    sources[1].fail();
    timers.fire(0);
    await tick();
    assert.equal(sockets.length, 2, "the WebSocket is tried again");
    sockets[1].welcome();
    assert.equal(client.transport, "websocket");
    client.close();
    assert.equal(timers.pending.size, 0, "close leaves no timer behind");
  });

  it("tries the WebSocket again on the next attempt when SSE failed too (the server was unreachable)", async () => {
    const { client, sockets, sources, timers } = fallbackClient();
    await tick();
    sockets[0].drop(1006);
    sources[0].fail();
    assert.equal(client.state, "reconnecting");
    timers.fire(0);
    await tick();
    assert.equal(sockets.length, 2);
    assert.equal(client.transport, "websocket");
    client.close();
  });

  it("does not fall back from a WebSocket that opened and then closed", async () => {
    const { client, sockets, sources } = fallbackClient();
    await tick();
    sockets[0].readyState = 1;
    sockets[0].onopen({});
    sockets[0].drop(1006);
    assert.equal(sources.length, 0);
    assert.equal(client.state, "reconnecting");
    client.close();
  });

  it("posts commands one POST at a time, batching what waited, in order", async () => {
    const { client, sockets, sources, posts } = fallbackClient();
    await tick();
    sockets[0].drop(1006);
    sources[0].welcome();
    const room = client.join("r");
    const first = room.publish(1);
    const second = room.publish(2);
    assert.equal(posts.length, 1, "one POST in flight");
    assert.equal(posts[0].url, "http://fake/events/es0");
    assert.deepEqual(JSON.parse(posts[0].body).op, "join");
    posts[0].respond();
    await tick();
    assert.equal(posts.length, 2);
    assert.deepEqual(
      posts[1].body.split("\n").map((line) => JSON.parse(line).data),
      [1, 2],
    );
    const [join, p1, p2] = [JSON.parse(posts[0].body), ...posts[1].body.split("\n").map((l) => JSON.parse(l))];
    sources[0].receive({ op: "reply", id: join.id, room: "r", offset: 0, epoch: "e" });
    sources[0].receive({ op: "reply", id: p1.id, offset: 1, epoch: "e" });
    sources[0].receive({ op: "reply", id: p2.id, offset: 2, epoch: "e" });
    assert.deepEqual(await first, { offset: 1, epoch: "e" });
    assert.deepEqual(await second, { offset: 2, epoch: "e" });
    client.close();
  });

  it("maps the stream's close message to the close code, and a refused POST to a dropped connection", async () => {
    const { client, sockets, sources, states } = fallbackClient();
    await tick();
    sockets[0].drop(1006);
    sources[0].welcome();
    sources[0].receive({ op: "close", code: 4000, reason: "slow consumer" });
    assert.ok(sources[0].closed, "the EventSource is closed, not left to reconnect by itself");
    assert.deepEqual(states.at(-1), ["reconnecting", { delayMs: 0, attempt: 1, code: 4000, reason: "slow consumer" }]);

    client.close();
    const fatal = fallbackClient();
    await tick();
    fatal.sockets[0].drop(1006);
    fatal.sources[0].receive({ op: "close", code: 4501, reason: "unauthorized" });
    assert.deepEqual(fatal.states.at(-1), ["closed", { code: 4501, reason: "unauthorized" }]);

    const gone = fallbackClient();
    await tick();
    gone.sockets[0].drop(1006);
    gone.sources[0].welcome();
    const pending = gone.client.send("bob", "hi");
    gone.posts[0].respond(404);
    await assert.rejects(pending, { code: "disconnected" });
    assert.equal(gone.states.at(-1)[0], "reconnecting");
    assert.equal(gone.states.at(-1)[1].code, 1006);
    assert.ok(gone.sources[0].closed);
    gone.client.close();
  });
});
