// Rooms against a real server: order, presence, history, direct messages, errors, binary, batching.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { Switchboard } from "../switchboard.js";
import { api, collect, next, recordingWebSocket, startServer, state, withTimeout } from "./helpers.js";

let server;
const clients = [];

function connect(user, options = {}) {
  const client = new Switchboard(server.ws, { user, WebSocket, backoff: { baseMs: 20, capMs: 200 }, ...options });
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

describe("rooms", () => {
  it("connects, joins, publishes and receives every message in offset order", async () => {
    const alice = connect("alice");
    const states = [];
    alice.on("state", (s) => states.push(s));
    await state(alice, "connected");
    assert.deepEqual(states, ["connecting", "connected"]);
    assert.equal(alice.user, "alice");
    assert.match(alice.session, /\S+/);

    const room = alice.join("order");
    assert.equal(alice.join("order"), room, "the same Room for the same name");
    const got = collect(room);
    await withTimeout(room.joined);

    const replies = await withTimeout(Promise.all(Array.from({ length: 20 }, (_, i) => room.publish({ n: i }))));
    assert.deepEqual(replies.map((r) => r.offset), Array.from({ length: 20 }, (_, i) => i + 1));
    await got.count(20);
    assert.deepEqual(got.items.map((m) => m.offset), Array.from({ length: 20 }, (_, i) => i + 1));
    assert.deepEqual(got.items.map((m) => m.data.n), Array.from({ length: 20 }, (_, i) => i));
    assert.equal(got.items[0].from, "alice");
    assert.equal(got.items[0].room, "order");
    assert.equal(got.items[0].binary, false);
  });

  it("joins before the connection is up and publishes once it is", async () => {
    const early = connect("early");
    const room = early.join("early-room");
    const got = collect(room);
    const reply = await withTimeout(room.publish({ text: "queued before connect" }));
    assert.equal(reply.offset, 1);
    await got.count(1);
    assert.equal(got.items[0].data.text, "queued before connect");
  });

  it("reports presence changes and answers presence queries", async () => {
    const alice = connect("p-alice");
    const bob = connect("p-bob");
    const aliceRoom = alice.join("presence-room");
    const events = collect(aliceRoom, "presence");
    await withTimeout(aliceRoom.joined);
    await events.until((xs) => xs.some((p) => p.user === "p-alice" && p.type === "joined"));

    const bobRoom = bob.join("presence-room");
    await withTimeout(bobRoom.joined);
    await events.until((xs) => xs.some((p) => p.user === "p-bob" && p.type === "joined"));

    const members = await withTimeout(aliceRoom.presence());
    assert.deepEqual(
      members.sort((a, b) => a.user.localeCompare(b.user)),
      [
        { user: "p-alice", connections: 1 },
        { user: "p-bob", connections: 1 },
      ],
    );

    bobRoom.leave();
    await events.until((xs) => xs.some((p) => p.user === "p-bob" && p.type === "left"));
    assert.deepEqual(events.items.at(-1), { type: "left", room: "presence-room", user: "p-bob" });
  });

  it("reads history with a limit and from a position", async () => {
    const alice = connect("h-alice");
    const room = alice.join("history-room");
    await withTimeout(room.joined);
    for (let i = 1; i <= 5; i++) await withTimeout(room.publish({ i }));

    const latest = await withTimeout(room.history({ limit: 3 }));
    assert.equal(latest.top.offset, 5);
    assert.equal(typeof latest.top.epoch, "string");
    assert.deepEqual(latest.messages.map((m) => m.offset), [3, 4, 5]);
    assert.deepEqual(latest.messages.map((m) => m.data.i), [3, 4, 5]);

    const since = await withTimeout(room.history({ since: { offset: 1, epoch: latest.top.epoch } }));
    assert.equal(since.recovered, true);
    assert.deepEqual(since.messages.map((m) => m.offset), [2, 3, 4, 5]);
  });

  it("sends and receives direct messages", async () => {
    const alice = connect("d-alice");
    const bob = connect("d-bob");
    await state(bob, "connected");
    const received = next(bob, "direct");
    await withTimeout(alice.send("d-bob", { text: "psst" }));
    const [direct] = await received;
    assert.deepEqual(direct, { from: "d-alice", data: { text: "psst" } });
  });

  it("rejects a request answered with an error, with the error code", async () => {
    const alice = connect("e-alice");
    await assert.rejects(withTimeout(alice.send("not a valid user!", {})), { code: "invalid_user" });

    const bad = alice.join("bad room!");
    const errors = collect(bad, "error");
    await assert.rejects(withTimeout(bad.joined), { code: "invalid_room" });
    assert.equal(errors.items[0].code, "invalid_room");
    assert.notEqual(alice.join("bad room!"), bad, "a refused room is forgotten, not re-joined");
  });

  it("publishes binary payloads and receives them as Uint8Array, live and in history", async () => {
    const alice = connect("b-alice");
    const bob = connect("b-bob");
    const aliceRoom = alice.join("binary-room");
    const bobRoom = bob.join("binary-room");
    const got = collect(bobRoom);
    await withTimeout(Promise.all([aliceRoom.joined, bobRoom.joined]));

    await withTimeout(aliceRoom.publish(new Uint8Array([0xde, 0xad, 0xbe, 0xef])));
    await withTimeout(aliceRoom.publish(new Uint8Array([1, 2, 3]).buffer));
    await withTimeout(aliceRoom.publish({ after: "binary" }));
    await got.count(3);
    assert.deepEqual(got.items[0], { room: "binary-room", from: "b-alice", offset: 1, data: new Uint8Array([0xde, 0xad, 0xbe, 0xef]), binary: true });
    assert.deepEqual(got.items[1].data, new Uint8Array([1, 2, 3]));
    assert.equal(got.items[2].data.after, "binary");

    const history = await withTimeout(bobRoom.history({ limit: 3 }));
    assert.deepEqual(history.messages[0].data, new Uint8Array([0xde, 0xad, 0xbe, 0xef]));
    assert.equal(history.messages[0].binary, true);
  });

  it("splits batched text frames into every message, in order", async () => {
    const recording = recordingWebSocket();
    const alice = connect("batch-alice", { WebSocket: recording.WebSocket });
    const room = alice.join("batch-room");
    const got = collect(room);
    await withTimeout(room.joined);

    // Many publishes at once: the server queues each message and reply and joins them into frames.
    const n = 300;
    await withTimeout(Promise.all(Array.from({ length: n }, (_, i) => room.publish({ i }))));
    await got.count(n);
    assert.deepEqual(got.items.map((m) => m.offset), Array.from({ length: n }, (_, i) => i + 1));
    const batched = recording.sockets[0].textFrames.filter((f) => f.includes("\n"));
    assert.ok(batched.length > 0, "the server batched some frames");
  });

  it("delivers HTTP API publications with from null", async () => {
    const alice = connect("api-alice");
    const room = alice.join("api-room");
    const got = collect(room);
    await withTimeout(room.joined);
    const reply = await api(server, "/api/publish", { room: "api-room", data: { from: "backend" } });
    assert.equal(reply.offset, 1);
    await got.count(1);
    assert.equal(got.items[0].from, null);
  });
});
