// A server that accepts TCP connections and never answers the WebSocket handshake: the attempt is
// abandoned after connectTimeoutMs and retried, and closing a client mid-handshake is safe.
import { after, before, it } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import WebSocket from "ws";
import { Switchboard } from "../switchboard.js";
import { next, state } from "./helpers.js";

let silent;
const sockets = new Set();

before(async () => {
  silent = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise((res) => silent.listen(0, "127.0.0.1", res));
});

after(() => {
  for (const socket of sockets) socket.destroy();
  silent.close();
});

const url = () => `ws://127.0.0.1:${silent.address().port}/ws`;

it("abandons an attempt that gets no welcome within connectTimeoutMs and retries", async () => {
  const client = new Switchboard(url(), { WebSocket, connectTimeoutMs: 100, backoff: { baseMs: 10, capMs: 20 } });
  const [, first] = await next(client, "state", (s) => s === "reconnecting");
  assert.equal(first.code, 1006);
  assert.match(first.reason, /connect timeout/);
  const [, second] = await next(client, "state", (s) => s === "reconnecting");
  assert.equal(second.attempt, 2);
  client.close();
  assert.equal(client.state, "closed");
});

it("closes safely while the handshake is still in progress", async () => {
  const client = new Switchboard(url(), { WebSocket });
  await new Promise((res) => silent.once("connection", res));
  client.close();
  await state(client, "closed");
  // An unhandled 'error' from the aborted handshake would fail this file before the next tick.
  await new Promise((res) => setImmediate(res));
});
