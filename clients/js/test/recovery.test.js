// Reconnect and recovery against a real server: a dropped socket loses nothing, the offline queue
// keeps order and its bound, in-flight requests fail with "disconnected".
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { Switchboard } from "../switchboard.js";
import { collect, next, recordingWebSocket, startServer, state, withTimeout } from "./helpers.js";

let server;
const clients = [];

before(async () => {
  server = await startServer();
});

after(async () => {
  for (const client of clients) client.close();
  await server?.kill();
});

/**
 * A client whose reconnects wait for the test: getToken (called before every connect) returns no
 * token, but from the second call on only once the test released it.
 */
function gatedClient(user, options = {}) {
  const recording = recordingWebSocket();
  let calls = 0;
  let permits = 0;
  const waiting = [];
  const client = new Switchboard(server.ws, {
    user,
    WebSocket: recording.WebSocket,
    backoff: { baseMs: 10, capMs: 50 },
    getToken: async () => {
      calls++;
      if (calls === 1) return null;
      if (permits > 0) permits--;
      else await new Promise((res) => waiting.push(res));
      return null;
    },
    ...options,
  });
  clients.push(client);
  return {
    client,
    sockets: recording.sockets,
    /** Lets one reconnect go on, whether it is already waiting or comes later. */
    release() {
      const waiter = waiting.shift();
      if (waiter) waiter();
      else permits++;
    },
  };
}

function plainClient(user) {
  const client = new Switchboard(server.ws, { user, WebSocket, backoff: { baseMs: 10, capMs: 50 } });
  clients.push(client);
  return client;
}

const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("recovery", () => {
  it("recovers every message missed while the socket was down, exactly once and in order", async () => {
    const reader = gatedClient("r-reader");
    const writer = plainClient("r-writer");
    const readerRoom = reader.client.join("recover");
    const writerRoom = writer.join("recover");
    const got = collect(readerRoom);
    const recovered = collect(readerRoom, "recovered");
    const resets = collect(readerRoom, "reset");
    await withTimeout(Promise.all([readerRoom.joined, writerRoom.joined]));

    for (let i = 1; i <= 10; i++) await withTimeout(writerRoom.publish({ i }));
    await got.count(10);

    const states = [];
    reader.client.on("state", (s, info) => states.push([s, info]));
    reader.sockets[0].terminate(); // the network drops: close 1006, no close frame
    await state(reader.client, "reconnecting");
    for (let i = 11; i <= 30; i++) await withTimeout(writerRoom.publish({ i }));

    reader.release();
    const [r] = await next(readerRoom, "recovered");
    assert.deepEqual(r, { count: 20 });
    assert.equal(reader.client.state, "connected");
    for (let i = 31; i <= 40; i++) await withTimeout(writerRoom.publish({ i }));
    await got.count(40);

    assert.deepEqual(got.items.map((m) => m.offset), range(1, 40));
    assert.deepEqual(got.items.map((m) => m.data.i), range(1, 40));
    assert.equal(recovered.items.length, 1);
    assert.equal(resets.items.length, 0);
    assert.equal(states[0][0], "reconnecting");
    assert.equal(states[0][1].code, 1006);
    assert.equal(states[0][1].attempt, 1);
    assert.equal(states.at(-1)[0], "connected");
    assert.equal(reader.sockets.length, 2);
  });

  it("keeps publishes made while disconnected and sends them in order after the re-join", async () => {
    const author = gatedClient("q-author");
    const watcher = plainClient("q-watcher");
    const authorRoom = author.client.join("queue");
    const watcherRoom = watcher.join("queue");
    const got = collect(watcherRoom);
    await withTimeout(Promise.all([authorRoom.joined, watcherRoom.joined]));

    author.sockets[0].terminate();
    await state(author.client, "reconnecting");
    const publishes = range(1, 5).map((i) => authorRoom.publish({ i }));
    author.release();
    const replies = await withTimeout(Promise.all(publishes));
    assert.deepEqual(replies.map((r) => r.offset), range(1, 5));
    await got.count(5);
    assert.deepEqual(got.items.map((m) => m.data.i), range(1, 5));
  });

  it("rejects the oldest queued publish with offline_queue_full when the queue overflows", async () => {
    const author = gatedClient("o-author", { offlineQueue: 3 });
    const room = author.client.join("overflow");
    const got = collect(room);
    await withTimeout(room.joined);

    author.sockets[0].terminate();
    await state(author.client, "reconnecting");
    const publishes = range(1, 5).map((i) => room.publish({ i }));
    await assert.rejects(withTimeout(publishes[0]), { code: "offline_queue_full" });
    await assert.rejects(withTimeout(publishes[1]), { code: "offline_queue_full" });
    author.release();
    const replies = await withTimeout(Promise.all(publishes.slice(2)));
    assert.deepEqual(replies.map((r) => r.offset), [1, 2, 3]);
    await got.count(3);
    assert.deepEqual(got.items.map((m) => m.data.i), [3, 4, 5]);
  });

  it("rejects a publish in flight when the socket drops with code disconnected, and reconnects", async () => {
    const author = gatedClient("f-author");
    const room = author.client.join("inflight");
    await withTimeout(room.joined);

    const inFlight = room.publish({ lost: "maybe" });
    author.sockets[0].terminate();
    await assert.rejects(withTimeout(inFlight), { code: "disconnected" });
    author.release();
    await state(author.client, "connected");
    // The publication may or may not have landed; what follows is consistent either way.
    const reply = await withTimeout(room.publish({ after: "reconnect" }));
    assert.ok(reply.offset >= 1);
  });

  it("sends a publish with an idempotency key again after a reconnect, and members get it once", async () => {
    const author = gatedClient("k-author");
    const room = author.client.join("keyed");
    const reader = plainClient("k-reader");
    const watched = reader.join("keyed");
    await withTimeout(Promise.all([room.joined, watched.joined]));
    const seen = collect(watched);

    // The publish lands, but its reply never reaches the author: its socket stops reading, then drops.
    author.sockets[0].pause();
    const retried = room.publish({ order: 17 }, { idempotencyKey: "order-17" });
    await seen.count(1);
    author.sockets[0].terminate();
    author.release();

    const position = await withTimeout(retried);
    assert.equal(position.offset, seen.items[0].offset);
    await withTimeout(room.publish({ after: "retry" }));
    await seen.count(2);
    assert.deepEqual(seen.items.map((m) => m.data), [{ order: 17 }, { after: "retry" }]);
  });

  it("re-joins rooms joined and not left, and forgets rooms left", async () => {
    const member = gatedClient("j-member");
    const kept = member.client.join("kept");
    const left = member.client.join("left");
    await withTimeout(Promise.all([kept.joined, left.joined]));
    left.leave();
    await assert.rejects(left.publish({}), { code: "not_joined" });

    member.sockets[0].terminate();
    await state(member.client, "reconnecting");
    const recovered = next(kept, "recovered");
    member.release();
    assert.deepEqual((await recovered)[0], { count: 0 });
    // The server learns that the dropped socket is gone only when TCP tells it, which may be after
    // the new one joined: ask until the old connection's membership is gone (bounded, no sleeping).
    const deadline = performance.now() + 10_000;
    let presence = await withTimeout(kept.presence());
    while (presence[0]?.connections !== 1 && performance.now() < deadline) {
      presence = await withTimeout(kept.presence());
    }
    assert.deepEqual(presence, [{ user: "j-member", connections: 1 }]);
    const response = await fetch(`${server.http}/api/rooms/left/presence`, { signal: AbortSignal.timeout(10_000) });
    assert.deepEqual((await response.json()).users, {});
  });
});
