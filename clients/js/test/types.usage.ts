// Compiled with `tsc --noEmit` (never run): the README's examples must type-check against switchboard.d.ts.
import { Switchboard, SwitchboardError, type Message, type StreamPosition, type Transport } from "../switchboard.js";

interface Chat {
  text: string;
}

export async function example(): Promise<void> {
  const client = new Switchboard("ws://localhost:8080/ws", {
    getToken: async () => "jwt",
    WebSocket, // the browser's (lib dom); in node, the `ws` package's
    backoff: { baseMs: 500, capMs: 30_000 },
    offlineQueue: 100,
    transports: ["websocket", "sse"],
    wsRetryMs: 60_000,
  });
  client.on("state", (state, info) => {
    if (state === "reconnecting") console.log(info.delayMs, info.attempt, info.code, info.reason);
    if (state === "closed") console.log(info.code, info.reason);
    if (state === "connected") console.log(info.transport === "sse");
  });
  const transport: Transport = client.transport;
  const sseOnly = new Switchboard("wss://chat.example.com/ws", { transports: ["sse"], sseUrl: "https://chat.example.com/events", EventSource, fetch });
  console.log(transport, sseOnly.transport);
  client.on("direct", (d) => console.log(d.from, d.data));
  client.on("error", (e) => console.log(e.code));
  const user: string | null = client.user;
  const session: string | null = client.session;
  console.log(user, session, client.state);

  const room = client.join<Chat>("lobby");
  room.on("message", (m) => {
    if (m.binary) {
      const bytes: Uint8Array = m.data;
      console.log(bytes.length);
    } else {
      const text: string = m.data.text;
      console.log(m.room, m.from, m.offset, text);
    }
  });
  room.on("presence", (p) => console.log(p.type, p.room, p.user));
  room.on("recovered", (r) => console.log(r.count));
  room.on("reset", (r) => console.log(r.reason));
  room.on("removed", (r) => console.log(r.code, r.message));
  room.on("error", (e: SwitchboardError) => console.log(e.code));
  const position: StreamPosition = await room.joined;
  const reply: StreamPosition = await room.publish({ text: "hi" });
  await room.publish(new Uint8Array([1, 2]));
  const members = await room.presence();
  console.log(members.map((m) => m.user + m.connections), position, reply);
  const history = await room.history({ limit: 50, since: position });
  const messages: Message<Chat>[] = history.messages;
  console.log(history.top.offset, history.top.epoch, messages.length);
  await client.send("bob", { text: "psst" });
  try {
    await room.publish({ text: "x" });
  } catch (error) {
    if (error instanceof SwitchboardError && error.code === "offline_queue_full") console.log("dropped");
  }
  room.leave();
  client.close();
}
