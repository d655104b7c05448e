// Tokens against a real server that requires them (HS256, no anonymous or ?user= access).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Switchboard } from "../switchboard.js";
import { collect, makeJwt, next, recordingWebSocket, startServer, state, withTimeout } from "./helpers.js";

const SECRET = "switchboard-js-client-tests-secret-0123456789";
let server;
const clients = [];
let serial = 0;

/** A token for `sub` that expires in `seconds`; every token is distinct (jti). */
function token(sub, seconds = 300) {
  return makeJwt(SECRET, { sub, exp: Math.floor(Date.now() / 1000) + seconds, jti: String(++serial) });
}

function connect(options) {
  const recording = recordingWebSocket();
  const client = new Switchboard(server.ws, { WebSocket: recording.WebSocket, backoff: { baseMs: 10, capMs: 50 }, ...options });
  clients.push(client);
  return { client, sockets: recording.sockets };
}

before(async () => {
  server = await startServer({
    env: {
      Switchboard__Auth__Jwt__Secret: SECRET,
      Switchboard__Auth__Jwt__ClockSkewSeconds: "0",
      Switchboard__Auth__AllowAnonymous: "false",
      Switchboard__Auth__AllowQueryUser: "false",
    },
  });
});

after(async () => {
  for (const client of clients) client.close();
  await server?.kill();
});

describe("tokens", () => {
  it("sends the token as a bearer subprotocol and calls getToken again before a reconnect", async () => {
    const issued = [];
    const { client, sockets } = connect({
      getToken: async () => {
        issued.push(token("tok-alice"));
        return issued.at(-1);
      },
    });
    await state(client, "connected");
    assert.equal(client.user, "tok-alice");
    assert.deepEqual(sockets[0].offered, ["switchboard.v1", "bearer." + issued[0]]);
    assert.equal(sockets[0].protocol, "switchboard.v1");
    assert.ok(!sockets[0].url_.includes("token"), "the token stays out of the URL");

    sockets[0].terminate();
    await state(client, "reconnecting");
    await state(client, "connected");
    assert.equal(issued.length, 2);
    assert.deepEqual(sockets[1].offered, ["switchboard.v1", "bearer." + issued[1]]);
    assert.equal(client.user, "tok-alice");
  });

  it("accepts a static token option", async () => {
    const { client } = connect({ token: token("tok-static") });
    await state(client, "connected");
    assert.equal(client.user, "tok-static");
  });

  it("authenticates with a first auth message when authMessage is set", async () => {
    const { client, sockets } = connect({ token: token("tok-message"), authMessage: true });
    await state(client, "connected");
    assert.equal(client.user, "tok-message");
    assert.deepEqual(sockets[0].offered, ["switchboard.v1"]);
  });

  it("does not reconnect after 4501 for an invalid token, and fails what was waiting", async () => {
    const forged = token("tok-mallory").slice(0, -4) + "AAAA";
    const { client, sockets } = connect({ token: forged });
    const states = [];
    client.on("state", (s, info) => states.push([s, info]));
    const room = client.join("anything");
    const publish = room.publish({ never: "sent" });
    await state(client, "closed");
    assert.equal(states.at(-1)[1].code, 4501);
    assert.match(states.at(-1)[1].reason, /invalid token/);
    assert.deepEqual(states.map(([s]) => s), ["connecting", "closed"]);
    await assert.rejects(withTimeout(publish), { code: "closed" });
    await assert.rejects(withTimeout(room.joined), { code: "closed" });
    assert.equal(sockets.length, 1);
    assert.equal(client.state, "closed");
  });

  it("closes for good on 4003 when a static token expires", async () => {
    const { client } = connect({ token: token("tok-short", 2) });
    await state(client, "connected");
    const [, info] = await next(client, "state", (s) => s === "closed", 5_000);
    assert.equal(info.code, 4003);
  });

  it("refreshes the token before it expires, without reconnecting", async () => {
    const firstExpiry = Math.floor(Date.now() / 1000) + 3;
    let calls = 0;
    const { client, sockets } = connect({
      getToken: async () => {
        calls++;
        return calls === 1 ? makeJwt(SECRET, { sub: "tok-refresh", exp: firstExpiry }) : token("tok-refresh", 3);
      },
    });
    await state(client, "connected");
    const states = collect(client, "state");
    const refreshes = collect(client, "refresh");
    // The server checks deadlines four times a second: wait for a refresh well past the first expiry.
    await refreshes.until(() => Date.now() > firstExpiry * 1000 + 750, 8_000, "a refresh after the first token expired");
    assert.equal(client.state, "connected");
    assert.equal(sockets.length, 1);
    assert.deepEqual(states.items, []);
    const room = client.join("after-refresh");
    assert.equal((await withTimeout(room.publish({ still: "here" }))).offset, 1);
  });
});
