// Measures how fast the JS client comes back, with the real server:
//   drop:    the socket is cut (no close frame) while a backend publishes through the HTTP API every
//            20 ms; time from the cut to "connected" and to the "recovered" event, and whether every
//            offset arrived exactly once, in order.
//   restart: the server process is killed and started again on the same port (in-memory broker, so
//            the room resets); time from the new process listening to the client's "connected".
// Each round starts from a stable connection (the client's default backoff, base 500 ms with full
// jitter, but a 1 s stable period instead of 10 s so rounds need not wait), so a round measures a
// first reconnect attempt, as after a single network drop.
// Usage: node bench/reconnect.js [rounds]   (after dotnet build src/Switchboard.Server -c Release)
import { Switchboard } from "../switchboard.js";
import { startServer, recordingWebSocket, withTimeout, next, state, api } from "../test/helpers.js";

const rounds = Number(process.argv[2] ?? 20);
const backoff = { baseMs: 500, capMs: 30_000, stableMs: 1_000 };
const settle = () => new Promise((resolve) => setTimeout(resolve, backoff.stableMs + 100));
const percentile = (values, p) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))];
const summary = (name, values) =>
  `${name}: p50 ${percentile(values, 50).toFixed(0)} ms, p90 ${percentile(values, 90).toFixed(0)} ms, max ${Math.max(...values).toFixed(0)} ms over ${values.length}`;

async function dropRounds(server) {
  const recorder = recordingWebSocket();
  const client = new Switchboard(server.ws, { user: "reader", WebSocket: recorder.WebSocket, backoff });
  const room = client.join("bench");
  const offsets = [];
  room.on("message", (m) => offsets.push(m.offset));
  await withTimeout(room.joined);
  const toConnected = [];
  const toRecovered = [];
  let published = 0;
  for (let round = 0; round < rounds; round++) {
    const publisher = setInterval(() => {
      published++;
      api(server, "/api/publish", { room: "bench", data: { n: published } }).catch(() => {});
    }, 20);
    await settle(); // a stable connection, with traffic, before the cut
    const cut = performance.now();
    recorder.sockets.at(-1).terminate();
    await state(client, "reconnecting");
    const recovered = next(room, "recovered");
    await state(client, "connected", 30_000);
    toConnected.push(performance.now() - cut);
    await withTimeout(recovered, 30_000, "recovered");
    toRecovered.push(performance.now() - cut);
    if (process.env.BENCH_VERBOSE) console.log(`round ${round}: connected ${toConnected.at(-1).toFixed(0)} ms, recovered ${toRecovered.at(-1).toFixed(0)} ms`);
    clearInterval(publisher);
  }
  // Let the last publications land, then check the stream as the client saw it.
  const top = (await api(server, "/api/publish", { room: "bench", data: "last" })).offset;
  while (offsets.at(-1) !== top) await new Promise((resolve) => setTimeout(resolve, 20));
  const inOrderOnce = offsets.every((offset, i) => offset === i + 1);
  client.close();
  return { toConnected, toRecovered, inOrderOnce, messages: offsets.length };
}

async function restartRounds() {
  let server = await startServer();
  const port = server.port;
  const client = new Switchboard(server.ws, { user: "restarter", WebSocket: recordingWebSocket().WebSocket, backoff });
  await withTimeout(client.join("bench").joined);
  const toConnected = [];
  for (let round = 0; round < Math.min(rounds, 10); round++) {
    await settle();
    await server.kill();
    await state(client, "reconnecting");
    server = await startServer({ port });
    const listening = performance.now();
    await state(client, "connected", 60_000);
    toConnected.push(performance.now() - listening);
  }
  client.close();
  await server.kill();
  return toConnected;
}

const server = await startServer();
try {
  const drop = await dropRounds(server);
  console.log(summary("drop -> connected", drop.toConnected));
  console.log(summary("drop -> recovered", drop.toRecovered));
  console.log(`messages ${drop.messages}, every offset once and in order: ${drop.inOrderOnce}`);
} finally {
  await server.kill();
}
console.log(summary("restart (listening) -> connected", await restartRounds()));
