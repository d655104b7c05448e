// The server process dies and comes back on the same port: the client reconnects by itself, and
// since the memory broker forgot every room (new epoch), the room reports a reset.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { Switchboard } from "../switchboard.js";
import { collect, next, startServer, state, withTimeout } from "./helpers.js";

let server;
let client;

after(async () => {
  client?.close();
  await server?.kill();
});

describe("server restart", () => {
  it("reconnects after the server is killed and restarted, and resets rooms whose epoch changed", async () => {
    server = await startServer();
    client = new Switchboard(server.ws, { user: "restart", WebSocket, backoff: { baseMs: 50, capMs: 250 } });
    const states = [];
    client.on("state", (s, info) => states.push([s, info]));
    const room = client.join("survivor");
    const got = collect(room);
    await withTimeout(room.joined);
    for (let i = 1; i <= 3; i++) await withTimeout(room.publish({ i }));
    await got.count(3);
    const before = room.position;
    assert.deepEqual(states.map(([s]) => s), ["connecting", "connected"]);
    states.length = 0;

    const reconnecting = next(client, "state", (s) => s === "reconnecting");
    await server.kill();
    const [, info] = await reconnecting;
    assert.equal(info.code, 1006);
    assert.ok(info.delayMs >= 0 && info.delayMs < 250, `delay ${info.delayMs} within the cap`);

    // Queued while the server is down, sent after the re-join.
    const queued = room.publish({ queued: true });
    const reset = next(room, "reset", () => true, 30_000);
    server = await startServer({ port: server.port });
    const [r] = await reset;
    assert.deepEqual(r, { reason: "epoch_changed" });
    await state(client, "connected");
    assert.notEqual(room.position.epoch, before.epoch);

    // The new stream starts again at 1 and is delivered: a reset continues from the new top.
    const reply = await withTimeout(queued);
    assert.equal(reply.offset, 1);
    await got.count(4);
    assert.deepEqual(got.items.map((m) => m.offset), [1, 2, 3, 1]);
    assert.deepEqual(got.items[3].data, { queued: true });

    const kinds = states.map(([s]) => s);
    assert.equal(kinds[0], "reconnecting");
    assert.equal(kinds.at(-1), "connected");
    assert.ok(kinds.every((s) => s === "reconnecting" || s === "connected"));
  });
});
