// Switchboard JavaScript client: rooms with ordered delivery and recovery, presence, history and
// direct messages over one WebSocket (protocol v1, see docs/protocol.md). No runtime dependency:
// browsers use their global WebSocket, node passes one (for example from the `ws` package).

/** The subprotocol the server selects; offered on every connection. */
export const SUBPROTOCOL = "switchboard.v1";

/** First byte of a client binary publish frame. */
const BINARY_PUBLISH = 0x01;
/** First byte of a server binary message frame. */
const BINARY_MESSAGE = 0x02;

const OPEN = 1;

/**
 * Close codes after which reconnecting cannot help: the client broke WebSocket framing or sent a
 * payload the server refuses (RFC 6455), or the server said "do not reconnect" (4500-4999).
 */
const FATAL_STANDARD_CODES = new Set([1002, 1003, 1007, 1008, 1009, 1010]);

/**
 * Whether the client reconnects by itself after the connection closed with `code`.
 * Mirrors `CloseCodes.ShouldReconnect` in Switchboard.Protocol, except that an unrequested 1000 and
 * the proxy codes 1005/1012/1013/1014 also reconnect: a proxy or load balancer may send them.
 * @param {number} code
 */
export function shouldReconnect(code) {
  if (code >= 4500 && code <= 4999) return false;
  return !FATAL_STANDARD_CODES.has(code);
}

/**
 * Full-jitter exponential backoff: a uniform random delay in [0, min(cap, base * 2^(attempt-1))).
 * Full jitter spreads a crowd of clients that lost the same server over the whole window, so they
 * do not come back in waves.
 * @param {number} attempt 1 for the first retry
 * @param {{ baseMs: number, capMs: number }} backoff
 * @param {() => number} [random]
 */
export function backoffDelay(attempt, backoff, random = Math.random) {
  const ceiling = Math.min(backoff.capMs, backoff.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

/** An Error with a machine-readable `code` (a server error code, or one of the client's own). */
export class SwitchboardError extends Error {
  /**
   * @param {string} code
   * @param {string} [message]
   */
  constructor(code, message) {
    super(message || code);
    this.name = "SwitchboardError";
    this.code = code;
  }
}

/** Encodes a client binary publish frame: 0x01, room length, room (ASCII), payload. */
export function encodeBinaryPublish(room, payload) {
  const bytes = payload instanceof Uint8Array ? payload : new Uint8Array(payload);
  const frame = new Uint8Array(2 + room.length + bytes.length);
  frame[0] = BINARY_PUBLISH;
  frame[1] = room.length;
  for (let i = 0; i < room.length; i++) frame[2 + i] = room.charCodeAt(i) & 0x7f;
  frame.set(bytes, 2 + room.length);
  return frame;
}

/**
 * Decodes a server binary message frame: 0x02, room length L, room, offset (8 bytes big-endian),
 * from length F (0 when the HTTP API published it), from (UTF-8), payload. Null when malformed.
 * @param {ArrayBuffer | Uint8Array} data
 */
export function decodeBinaryMessage(data) {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  if (bytes.length < 2 || bytes[0] !== BINARY_MESSAGE) return null;
  const roomLength = bytes[1];
  let at = 2 + roomLength;
  if (bytes.length < at + 9) return null;
  const room = String.fromCharCode(...bytes.subarray(2, at));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const offset = Number(view.getBigUint64(at));
  at += 8;
  const fromLength = bytes[at++];
  if (bytes.length < at + fromLength) return null;
  const from = fromLength === 0 ? null : new TextDecoder().decode(bytes.subarray(at, at + fromLength));
  // A copy, so the message does not pin the whole frame.
  const payload = bytes.slice(at + fromLength);
  return { room, from, offset, data: payload, binary: true };
}

function base64ToBytes(text) {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

/** The `exp` of a JWT in milliseconds since the epoch, or null when it has none or is not a JWT. */
export function tokenExpiry(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const payload = JSON.parse(atob(part + "===".slice((part.length + 3) % 4)));
    return typeof payload.exp === "number" ? payload.exp * 1000 : null;
  } catch {
    return null;
  }
}

/** A publication as the application sees it, from a live `message` or from a join/history reply. */
function toMessage(m) {
  if (typeof m.binary === "string") {
    return { room: m.room, from: m.from ?? null, offset: m.offset, data: base64ToBytes(m.binary), binary: true };
  }
  return { room: m.room, from: m.from ?? null, offset: m.offset, data: m.data, binary: false };
}

/** A small event emitter: listeners that throw are reported on the console and do not stop delivery. */
class Emitter {
  #listeners = new Map();

  /**
   * Adds a listener; returns a function that removes it.
   * @param {string} event
   * @param {Function} listener
   */
  on(event, listener) {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => this.off(event, listener);
  }

  off(event, listener) {
    this.#listeners.get(event)?.delete(listener);
  }

  _emit(event, ...args) {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(...args);
      } catch (error) {
        // An application bug in one listener must not break ordering for the others.
        console.error(`switchboard: a "${event}" listener threw`, error);
      }
    }
  }
}

/**
 * Stops listening to a socket the client is done with. The error handler stays, as a no-op: the
 * `ws` package emits "error" when a socket still in its handshake is closed, and an EventEmitter
 * "error" without a listener would throw.
 */
function detach(ws) {
  ws.onopen = ws.onmessage = ws.onclose = null;
  ws.onerror = () => {};
}

/** Detaches and closes a socket, in whatever state it is. */
function abandon(ws, code, reason) {
  detach(ws);
  try {
    ws.close(code, reason);
  } catch {
    // Some implementations refuse close() during the handshake; the socket is dropped either way.
  }
}

/** A promise with its settle functions, whose rejection is never "unhandled" when nobody awaits it. */
function deferred() {
  let resolve, reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/** Commands waiting for the previous POST are sent together, up to this many bytes per body:
 * well under the server's default `Limits:MaxMessageBytes` (64 KiB), which answers a larger body 413. */
const MAX_POST_BATCH_BYTES = 32 * 1024;

/**
 * A WebSocket look-alike over server-sent events (protocol.md, "Transports"): `GET /events` carries
 * the server's messages, `send(text)` becomes `POST /events/{session}`. The client drives it exactly
 * as a WebSocket: `onopen` (at the welcome, once the session id is known), `onmessage` with text,
 * `onclose` with the code of the stream's close message, or 1006 when the stream ends without one.
 *
 * It never reconnects by itself: EventSource would, with `Last-Event-ID`, but the client has its own
 * backoff and recovery (re-joins with `since`), so the first error or end of the stream closes it.
 */
export class EventStreamSocket {
  /** 0 until the welcome, 1 while open, 3 once closed (no 2: closing takes no round trip). */
  readyState = 0;
  binaryType = "arraybuffer";
  /** The session id from the welcome; the capability to post commands. */
  session = null;
  onopen = null;
  onmessage = null;
  onerror = null;
  onclose = null;
  #url;
  #fetch;
  #source = null;
  #abort = new AbortController();
  /** Command texts waiting for the POST in flight. */
  #outbox = [];
  #posting = false;

  /**
   * @param {string} url the `/events` URL (http or https), with any `?user=`
   * @param {{ token?: string | null, EventSource?: any, fetch?: typeof fetch }} [options]
   *   `EventSource` (default `globalThis.EventSource`) reads the stream when there is one; otherwise
   *   a `fetch` response is read as `text/event-stream` (node).
   */
  constructor(url, options = {}) {
    const u = new URL(url, globalThis.location?.href);
    // EventSource sends no headers: the token can only travel in the URL.
    if (options.token) u.searchParams.set("token", options.token);
    this.#url = u;
    this.#fetch = options.fetch ?? globalThis.fetch?.bind(globalThis);
    const EventSourceClass = options.EventSource === undefined ? globalThis.EventSource : options.EventSource;
    if (typeof EventSourceClass === "function") {
      const source = new EventSourceClass(u.href);
      this.#source = source;
      source.onmessage = (event) => this.#onData(event.data);
      source.onerror = () => this.#end(1006, "the event stream failed or ended");
    } else if (typeof this.#fetch === "function") {
      this.#read().catch((error) => this.#end(1006, `the event stream failed: ${error?.message ?? error}`));
    } else {
      throw new TypeError("no EventSource and no fetch: server-sent events are not available");
    }
  }

  /**
   * Queues a command text; POSTs go out one at a time, in order, each carrying every command that
   * waited for the previous one (newline-separated, as one `/ws` frame).
   * @param {string} text
   */
  send(text) {
    if (typeof text !== "string") throw new SwitchboardError("binary_unsupported", "binary publishes need a WebSocket (/ws)");
    if (this.readyState === 0) throw new Error("not open yet: no welcome");
    if (this.readyState !== 1) return;
    this.#outbox.push(text);
    if (!this.#posting) this.#post();
  }

  /** Ends the session: the server sees the stream closed. No close event follows (the caller closed it). */
  close() {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.#stop();
  }

  async #read() {
    const response = await this.#fetch(this.#url.href, {
      headers: { accept: "text/event-stream" },
      cache: "no-store",
      signal: this.#abort.signal,
    });
    const type = response.headers.get("content-type") ?? "";
    if (!response.ok || !type.startsWith("text/event-stream")) {
      await response.body?.cancel().catch(() => {});
      this.#end(1006, `GET ${this.#url.pathname} answered ${response.status} ${type}`);
      return;
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    let data = null;
    while (this.readyState !== 3) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let newline;
      while ((newline = buffer.indexOf("\n")) >= 0 && this.readyState !== 3) {
        let line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (line.endsWith("\r")) line = line.slice(0, -1);
        if (line === "") {
          // A blank line ends an event; a heartbeat (a comment alone) has no data and is skipped.
          if (data !== null) this.#onData(data);
          data = null;
        } else if (line.startsWith("data:")) {
          const value = line.slice(line[5] === " " ? 6 : 5);
          data = data === null ? value : data + "\n" + value;
        }
        // Comments (":") and the id, event and retry fields: nothing to do, as the client recovers
        // with `since` rather than Last-Event-ID.
      }
    }
    reader.cancel().catch(() => {});
    this.#end(1006, "the event stream ended without a close message");
  }

  #onData(text) {
    if (this.readyState === 3) return;
    // The close message is the stream's close frame; the server writes `op` first in every message.
    if (text.startsWith('{"op":"close"')) {
      let close;
      try {
        close = JSON.parse(text);
      } catch {
        close = null;
      }
      if (close?.op === "close") {
        this.#end(typeof close.code === "number" ? close.code : 1006, String(close.reason ?? ""));
        return;
      }
    }
    if (this.readyState === 0) {
      let welcome;
      try {
        welcome = JSON.parse(text);
      } catch {
        welcome = null;
      }
      if (welcome?.op !== "welcome" || typeof welcome.session !== "string") {
        this.#end(1006, "the event stream did not start with a welcome");
        return;
      }
      this.session = welcome.session;
      this.readyState = 1;
      this.onopen?.({});
      if (this.readyState !== 1) return;
    }
    this.onmessage?.({ data: text });
  }

  async #post() {
    this.#posting = true;
    const target = new URL(this.#url.pathname.replace(/\/$/, "") + "/" + encodeURIComponent(this.session), this.#url);
    try {
      while (this.#outbox.length > 0 && this.readyState === 1) {
        let size = this.#outbox[0].length;
        let count = 1;
        while (count < this.#outbox.length && size + 1 + this.#outbox[count].length <= MAX_POST_BATCH_BYTES) {
          size += 1 + this.#outbox[count].length;
          count++;
        }
        const body = this.#outbox.splice(0, count).join("\n");
        let response;
        try {
          response = await this.#fetch(target.href, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body,
            signal: this.#abort.signal,
          });
          await response.body?.cancel().catch(() => {});
        } catch (error) {
          this.#end(1006, `POST ${this.#url.pathname}/{session} failed: ${error?.message ?? error}`);
          return;
        }
        if (response.status === 202 || response.ok) continue;
        // As a WebSocket would end: a body over the size limit is 1009 there; a refused origin or
        // identity cannot succeed on a new connection either (1008). Anything else (404: the session
        // is gone; 429, 5xx) drops the connection and the client reconnects and recovers.
        const code = response.status === 413 ? 1009 : response.status === 403 || response.status === 415 ? 1008 : 1006;
        this.#end(code, `POST ${this.#url.pathname}/{session} answered ${response.status}`);
        return;
      }
    } finally {
      this.#posting = false;
    }
  }

  #stop() {
    this.#source?.close();
    this.#abort.abort();
    this.#outbox = [];
  }

  /** The stream is over (close message, error, end): closed once, with one close event. */
  #end(code, reason) {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.#stop();
    this.onerror?.({});
    this.onclose?.({ code, reason, wasClean: code !== 1006 });
  }
}

/**
 * One room of a {@link Switchboard} client. Obtained from `client.join(name)`; the client re-joins it
 * after every reconnect and recovers what it missed.
 */
export class Room extends Emitter {
  #client;
  #joined = deferred();
  #settled = false;
  /** Last delivered offset and its epoch; null until the first join reply. */
  #offset = null;
  #epoch = null;
  /** True between a join reply and the loss of the connection (or leave). */
  _live = false;
  _left = false;

  /**
   * @param {Switchboard} client
   * @param {string} name
   * @param {{ offset: number, epoch: string } | undefined} since
   */
  constructor(client, name, since) {
    super();
    this.#client = client;
    this.name = name;
    if (since) {
      this.#offset = since.offset;
      this.#epoch = since.epoch;
    }
  }

  /** Resolves with `{ offset, epoch }` on the first join reply; rejects if that join is refused. */
  get joined() {
    return this.#joined.promise;
  }

  /** The last delivered position `{ offset, epoch }`, or null before the first join reply. */
  get position() {
    return this.#epoch === null ? null : { offset: this.#offset, epoch: this.#epoch };
  }

  /**
   * Publishes JSON data (resolves with `{ offset, epoch }` from the reply) or a binary payload
   * (`Uint8Array`/`ArrayBuffer`; resolves once sent, as binary publishes have no reply).
   * `options.idempotencyKey` (JSON only) makes the publish safe to repeat: the server appends it
   * once per room within its window, so when the connection drops before the reply, the client
   * sends it again after reconnecting instead of rejecting with `disconnected`.
   */
  publish(data, options = {}) {
    if (this._left) return Promise.reject(new SwitchboardError("not_joined", `left ${this.name}`));
    if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
      const bytes = data instanceof Uint8Array ? data : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
      // Encoded now: the frame is a copy, so changing the buffer after publish() changes nothing.
      return this.#client._enqueue({ binary: encodeBinaryPublish(this.name, bytes) });
    }
    const command = { op: "publish", room: this.name, data };
    if (options.idempotencyKey !== undefined) command.idempotencyKey = options.idempotencyKey;
    return this.#client._enqueue({ command }).then((r) => ({ offset: r.offset, epoch: r.epoch }));
  }

  /** The room's members: `[{ user, connections }]`. */
  presence() {
    return this.#client
      ._enqueue({ command: { op: "presence", room: this.name } })
      .then((r) => Object.entries(r.users ?? {}).map(([user, connections]) => ({ user, connections })));
  }

  /**
   * Retained publications: the latest `limit`, or those after `since` (`{ offset, epoch }`, or an offset
   * in the room's current epoch). Resolves with `{ top: { offset, epoch }, recovered?, messages }`.
   */
  history(options = {}) {
    const command = { op: "history", room: this.name };
    if (options.limit !== undefined) command.limit = options.limit;
    if (options.since !== undefined && options.since !== null) {
      command.since = typeof options.since === "number" ? { offset: options.since, epoch: this.#epoch ?? "" } : options.since;
    }
    return this.#client._enqueue({ command }).then((r) => {
      const result = { top: { offset: r.offset, epoch: r.epoch }, messages: (r.publications ?? []).map(toMessage) };
      if (typeof r.recovered === "boolean") result.recovered = r.recovered;
      return result;
    });
  }

  /** Leaves the room: no more messages, no re-join after a reconnect. */
  leave() {
    if (this._left) return;
    this._left = true;
    this._live = false;
    this.#client._leave(this);
    if (!this.#settled) {
      this.#settled = true;
      this.#joined.reject(new SwitchboardError("not_joined", `left ${this.name} before it was joined`));
    }
  }

  /** The join command for the next (re)join: with `since` when a position is known. */
  _joinCommand() {
    const command = { op: "join", room: this.name };
    if (this.#epoch !== null) command.since = { offset: this.#offset, epoch: this.#epoch };
    return command;
  }

  /** Handles the join reply. Runs synchronously inside frame processing, before the frame's next line. */
  _onJoinReply(reply, command) {
    if (this._left) return;
    const position = { offset: reply.offset, epoch: reply.epoch };
    if (command.since) {
      if (reply.recovered) {
        this._live = true;
        let count = 0;
        for (const publication of reply.publications ?? []) {
          if (this.#deliver(toMessage(publication))) count++;
        }
        this.#offset = Math.max(this.#offset, reply.offset);
        this._emit("recovered", { count });
      } else {
        const reason =
          reply.epoch !== command.since.epoch
            ? "epoch_changed"
            : (reply.publications ?? []).length === 0
              ? "history_unavailable"
              : "too_far_behind";
        // Continue from the new top. The publications this reply retained are not delivered: the
        // gap before them cannot be filled, so the application reloads the room's state instead.
        this.#offset = reply.offset;
        this.#epoch = reply.epoch;
        this._live = true;
        this._emit("reset", { reason });
      }
    } else {
      this.#offset = reply.offset;
      this.#epoch = reply.epoch;
      this._live = true;
    }
    if (!this.#settled) {
      this.#settled = true;
      this.#joined.resolve(position);
    }
  }

  _onJoinError(error) {
    if (!this.#settled) {
      this.#settled = true;
      this.#joined.reject(error);
    }
    this._emit("error", error);
  }

  /** The server removed the connection from the room; `error.code` says why (e.g. `forbidden`). */
  _onRemoved(error) {
    this._left = true;
    this._live = false;
    if (!this.#settled) {
      this.#settled = true;
      this.#joined.reject(error);
    }
    this._emit("removed", { code: error.code, message: error.message });
  }

  _onClosed(error) {
    this._live = false;
    if (error && !this.#settled) {
      this.#settled = true;
      this.#joined.reject(error);
    }
  }

  /** A live message from the connection. */
  _onMessage(message) {
    if (this._live) this.#deliver(message);
  }

  /** Delivers `message` unless its offset was already delivered; true when delivered. */
  #deliver(message) {
    if (this.#offset !== null && message.offset <= this.#offset) return false;
    this.#offset = message.offset;
    this._emit("message", message);
    return true;
  }
}

/** Join errors after which nothing happened and the same join may succeed a little later. */
const RETRYABLE_JOIN_ERRORS = new Set(["unavailable", "internal", "rate_limited"]);

const DEFAULTS = {
  backoff: { baseMs: 500, capMs: 30_000, stableMs: 10_000 },
  offlineQueue: 100,
  requestTimeoutMs: 30_000,
  connectTimeoutMs: 15_000,
  refreshLeadMs: 30_000,
  transports: ["websocket", "sse"],
  wsRetryMs: 60_000,
};

const TRANSPORTS = new Set(["websocket", "sse"]);

/**
 * A Switchboard connection that reconnects by itself, re-joins its rooms and recovers missed
 * messages. States: "connecting" (first attempt), "connected" (welcome received), "reconnecting"
 * (waiting for or making another attempt), "closed" (by `close()` or a close code that forbids
 * reconnecting).
 */
export class Switchboard extends Emitter {
  #url;
  #options;
  #WebSocket;
  #timers;
  #random;
  #ws = null;
  #state = "connecting";
  #user = null;
  #session = null;
  #token = null;
  #attempt = 0;
  #nextId = 1;
  /** @type {Map<number, { onReply: Function, onError: Function, timer: any }>} */
  #pending = new Map();
  /** Commands waiting for a connection, in call order. */
  #queue = [];
  /** @type {Map<string, Room>} */
  #rooms = new Map();
  /** Timer ids: the next reconnect, the stable-connection reset, the token refresh, the welcome deadline. */
  #timer = { retry: null, stable: null, refresh: null, connect: null, wsRetry: null };
  /** "websocket" or "sse": the transport of the current (or last) connection attempt. */
  #transport = "websocket";
  /** The current attempt is on SSE because its WebSocket could not be opened. */
  #fellBack = false;
  /** A WebSocket failed and SSE then worked: reconnects use SSE until `wsRetryMs` has passed. */
  #wsBlocked = false;
  #windowListeners = null;
  /** Timers of joins refused with a retryable error, re-sent on the same connection. */
  #joinRetries = new Set();

  /**
   * @param {string} url the `/ws` URL, e.g. `wss://chat.example.com/ws`
   * @param {object} [options] see switchboard.d.ts
   */
  constructor(url, options = {}) {
    super();
    try {
      new URL(url, globalThis.location?.href);
    } catch {
      throw new TypeError(`not a WebSocket URL: ${url}`);
    }
    this.#url = url;
    this.#options = {
      ...DEFAULTS,
      ...options,
      backoff: { ...DEFAULTS.backoff, ...(options.backoff ?? {}) },
    };
    const transports = this.#options.transports;
    if (!Array.isArray(transports) || transports.length === 0 || !transports.every((t) => TRANSPORTS.has(t))) {
      throw new TypeError(`transports must list "websocket" and/or "sse": ${JSON.stringify(transports)}`);
    }
    this.#WebSocket = options.WebSocket ?? globalThis.WebSocket;
    if (typeof this.#WebSocket !== "function" && !transports.includes("sse")) {
      throw new TypeError("no WebSocket implementation: pass options.WebSocket (for example from the 'ws' package)");
    }
    this.#timers = {
      setTimeout: options.setTimeout ?? ((fn, ms) => globalThis.setTimeout(fn, ms)),
      clearTimeout: options.clearTimeout ?? ((id) => globalThis.clearTimeout(id)),
    };
    this.#random = options.random ?? Math.random;
    this.#listenToWindow();
    // Deferred so that listeners added right after the constructor see "connecting".
    queueMicrotask(() => {
      if (this.#state !== "closed") {
        this._emit("state", "connecting", {});
        this.#connect();
      }
    });
  }

  /** "connecting" | "connected" | "reconnecting" | "closed" */
  get state() {
    return this.#state;
  }

  /** "websocket" or "sse": how the current (or last) connection attempt reaches the server. */
  get transport() {
    return this.#transport;
  }

  /** The user id the server assigned (from the last welcome), or null before it. */
  get user() {
    return this.#user;
  }

  /** The server's session id of the current connection (from the last welcome), or null. */
  get session() {
    return this.#session;
  }

  /**
   * Joins `name` now (or on connect) and again after every reconnect. The same name gives the same
   * Room until it is left. `options.since` resumes from a stored position `{ offset, epoch }`.
   */
  join(name, options = {}) {
    let room = this.#rooms.get(name);
    if (room) return room;
    room = new Room(this, name, options.since);
    this.#rooms.set(name, room);
    if (this.#state === "closed") {
      room._onClosed(new SwitchboardError("closed", "the client is closed"));
    } else if (this.#state === "connected") {
      this.#sendJoin(room);
    }
    return room;
  }

  /** Sends a direct message to every connection of `user`; resolves on the server's reply. */
  send(user, data) {
    return this._enqueue({ command: { op: "send", user, data } }).then(() => undefined);
  }

  /** Closes the connection for good: state "closed" with code 1000; pending requests reject with "closed". */
  close() {
    if (this.#state === "closed") return;
    const ws = this.#ws;
    this.#shutdown(1000, "client closed", new SwitchboardError("closed", "the client was closed"));
    if (ws) abandon(ws, 1000, "client closed");
  }

  // ---- requests and the offline queue ----

  /**
   * Sends a command (with an id, resolving with the reply) or a binary frame (resolving once sent),
   * now when connected, else after the next (re)join, in call order.
   * @param {{ command?: object, binary?: Uint8Array }} item
   */
  _enqueue(item) {
    if (this.#state === "closed") return Promise.reject(new SwitchboardError("closed", "the client is closed"));
    let json = null;
    if (item.command) {
      // Serialized now, like the binary frame: what is sent is the data as it was at the call, and
      // data JSON cannot carry (a BigInt, a cycle) fails this call rather than a later flush.
      try {
        json = JSON.stringify(item.command);
      } catch (error) {
        return Promise.reject(new SwitchboardError("invalid_data", `data cannot be sent as JSON: ${error?.message ?? error}`));
      }
    }
    const d = deferred();
    // A command the server de-duplicates may be sent again when its connection drops before the reply.
    const repeatable = typeof item.command?.idempotencyKey === "string";
    const entry = { binary: item.binary, json, op: item.command?.op, repeatable, resolve: d.resolve, reject: d.reject };
    if (this.#state === "connected" && this.#ws?.readyState === OPEN) {
      this.#transmit(entry);
    } else {
      this.#queue.push(entry);
      // Bounded: the oldest waiting command makes room, so memory stays bounded while offline.
      while (this.#queue.length > this.#options.offlineQueue) {
        this.#queue.shift().reject(new SwitchboardError("offline_queue_full", `more than ${this.#options.offlineQueue} commands waiting for a connection`));
      }
    }
    return d.promise;
  }

  #transmit(entry) {
    if (entry.binary && this.#transport === "sse") {
      entry.reject(new SwitchboardError("binary_unsupported", "binary publishes need a WebSocket; this connection uses server-sent events"));
      return;
    }
    if (entry.binary) {
      this.#ws.send(entry.binary);
      entry.resolve(undefined);
      return;
    }
    this.#request(entry.json, entry.op, (reply) => entry.resolve(reply), (error) => {
      // In flight when the socket dropped: back in the queue, in the order sent (pending requests
      // fail in id order, before anything else can be queued), for the next connection.
      if (error.code === "disconnected" && entry.repeatable) this.#queue.push(entry);
      else entry.reject(error);
    });
  }

  /**
   * Sends a command (an object, or its JSON text with `op` given) with a fresh id; `onReply` and
   * `onError` run synchronously while the reply's frame is read, before the frame's next line.
   */
  #request(command, op, onReply, onError, timeoutMs = this.#options.requestTimeoutMs) {
    if (typeof command !== "string") command = JSON.stringify(command);
    const id = this.#nextId++;
    const timer =
      timeoutMs > 0
        ? this.#timers.setTimeout(() => {
            if (this.#pending.delete(id)) onError(new SwitchboardError("timeout", `no reply to ${op} within ${timeoutMs} ms`));
          }, timeoutMs)
        : null;
    this.#pending.set(id, { onReply, onError, timer });
    // The id goes first, spliced into the serialized object: `command` is never empty (it has an op).
    this.#ws.send(`{"id":${id},${command.slice(1)}`);
  }

  #sendJoin(room, attempt = 0) {
    const command = room._joinCommand();
    const ws = this.#ws;
    this.#request(
      command,
      "join",
      (reply) => room._onJoinReply(reply, command),
      (error) => {
        // A join lost with its connection is retried by the next connection's re-join.
        if (error.code === "disconnected" || error.code === "closed") return;
        if (RETRYABLE_JOIN_ERRORS.has(error.code)) {
          // Nothing happened on the server (e.g. its broker was unreachable): the room is kept and
          // joined again on this connection after a backoff.
          room._emit("error", error);
          const timer = this.#timers.setTimeout(() => {
            this.#joinRetries.delete(timer);
            if (this.#ws === ws && this.#state === "connected" && this.#rooms.get(room.name) === room) this.#sendJoin(room, attempt + 1);
          }, backoffDelay(attempt + 1, this.#options.backoff, this.#random));
          this.#joinRetries.add(timer);
          return;
        }
        // Refused joins (forbidden, invalid_room, ...) are not retried on reconnect.
        if (this.#rooms.get(room.name) === room) this.#rooms.delete(room.name);
        room._left = true;
        room._onJoinError(error);
      },
      // No request timeout: a join that answered late would leave the room deaf; a dead
      // connection is noticed by its close instead.
      0,
    );
  }

  #clearJoinRetries() {
    for (const timer of this.#joinRetries) this.#timers.clearTimeout(timer);
    this.#joinRetries.clear();
  }

  _leave(room) {
    if (this.#rooms.get(room.name) !== room) return;
    this.#rooms.delete(room.name);
    if (this.#state === "connected") {
      // Nothing to do with the answer: the room is gone either way (not_joined if the join had failed).
      this.#request({ op: "leave", room: room.name }, "leave", () => {}, () => {});
    }
  }

  // ---- the connection ----

  async #connect() {
    let token = this.#options.token ?? null;
    if (typeof this.#options.getToken === "function") {
      try {
        token = (await this.#options.getToken()) ?? null;
      } catch (error) {
        if (this.#state === "closed") return;
        this.#scheduleReconnect(0, `getToken failed: ${error?.message ?? error}`);
        return;
      }
      if (this.#state === "closed") return;
    }
    this.#token = token;

    this.#open(this.#chooseTransport(), token, false);
  }

  /**
   * WebSocket first, unless a WebSocket could not be opened lately while SSE could (then SSE until
   * `wsRetryMs` has passed), or only one of them is allowed or available.
   */
  #chooseTransport() {
    const transports = this.#options.transports;
    if (!transports.includes("sse")) return "websocket";
    if (!transports.includes("websocket") || typeof this.#WebSocket !== "function" || this.#wsBlocked) return "sse";
    return "websocket";
  }

  /** The `/events` URL: `options.sseUrl`, or `events` beside the `/ws` path, over http(s). */
  #eventsUrl() {
    const base = globalThis.location?.href;
    if (this.#options.sseUrl) return new URL(this.#options.sseUrl, base).href;
    const ws = new URL(this.#url, base);
    const events = new URL("events", ws);
    events.search = ws.search;
    if (events.protocol === "ws:") events.protocol = "http:";
    else if (events.protocol === "wss:") events.protocol = "https:";
    return events.href;
  }

  /**
   * Opens one attempt's connection on `transport`. A WebSocket that fails before it opens (refused,
   * blocked by a proxy, no handshake within connectTimeoutMs) hands the same attempt to SSE.
   */
  #open(transport, token, fellBack) {
    this.#transport = transport;
    this.#fellBack = fellBack;
    let url = transport === "sse" ? this.#eventsUrl() : this.#url;
    if (this.#options.user) {
      url += (url.includes("?") ? "&" : "?") + "user=" + encodeURIComponent(this.#options.user);
    }

    let ws;
    try {
      if (transport === "sse") {
        // A stream has no auth command: the token always travels with the GET.
        ws = new EventStreamSocket(url, { token, EventSource: this.#options.EventSource, fetch: this.#options.fetch });
      } else {
        const protocols = [SUBPROTOCOL];
        if (token && !this.#options.authMessage) protocols.push("bearer." + token);
        ws = new this.#WebSocket(url, protocols);
      }
    } catch (error) {
      if (this.#canFallBack(transport)) {
        this.#open("sse", token, true);
        return;
      }
      this.#scheduleReconnect(0, `cannot open a ${transport === "sse" ? "server-sent events stream" : "WebSocket"}: ${error?.message ?? error}`);
      return;
    }
    ws.binaryType = "arraybuffer";
    this.#ws = ws;
    let opened = false;
    const fallBack = () => {
      if (opened || this.#ws !== ws || !this.#canFallBack(transport)) return false;
      this.#ws = null;
      abandon(ws, 1000, "falling back to server-sent events");
      this.#clearTimer("connect");
      this.#open("sse", token, true);
      return true;
    };
    this.#timer.connect = this.#timers.setTimeout(() => {
      if (this.#ws !== ws || fallBack()) return;
      abandon(ws, 1000, "connect timeout");
      this.#onSocketClosed(ws, 1006, "connect timeout: no welcome");
    }, this.#options.connectTimeoutMs);

    ws.onopen = () => {
      if (this.#ws !== ws) return;
      opened = true;
      if (transport === "websocket" && token && this.#options.authMessage) ws.send(JSON.stringify({ op: "auth", token }));
    };
    ws.onmessage = (event) => {
      if (this.#ws !== ws) return;
      if (typeof event.data === "string") this.#onText(ws, event.data);
      else this.#onBinary(event.data);
    };
    // The close event follows any error; the close decides what happens next.
    ws.onerror = () => {};
    ws.onclose = (event) => {
      if (!fallBack()) this.#onSocketClosed(ws, event.code, event.reason);
    };
  }

  #canFallBack(transport) {
    return transport === "websocket" && this.#options.transports.includes("sse") && this.#state !== "closed";
  }

  #onText(ws, text) {
    // The server joins queued messages into one frame, one JSON per line.
    for (const line of text.split("\n")) {
      // A listener may have closed the client (or dropped this socket) halfway through the frame.
      if (this.#ws !== ws) return;
      if (line.length === 0) continue;
      let message;
      try {
        message = JSON.parse(line);
      } catch {
        this._emit("error", new SwitchboardError("bad_frame", "the server sent a line that is not JSON"));
        continue;
      }
      this.#dispatch(message);
    }
  }

  #onBinary(data) {
    const message = decodeBinaryMessage(data);
    if (!message) {
      this._emit("error", new SwitchboardError("bad_frame", "the server sent a binary frame without a valid header"));
      return;
    }
    this.#rooms.get(message.room)?._onMessage(message);
  }

  #dispatch(message) {
    switch (message.op) {
      case "message":
        this.#rooms.get(message.room)?._onMessage(toMessage(message));
        break;
      case "reply":
      case "error": {
        const pending = message.id === undefined ? undefined : this.#pending.get(message.id);
        if (!pending) {
          if (message.op === "error") this._emit("error", new SwitchboardError(message.code, message.message));
          break;
        }
        this.#pending.delete(message.id);
        if (pending.timer !== null) this.#timers.clearTimeout(pending.timer);
        if (message.op === "reply") pending.onReply(message);
        else pending.onError(new SwitchboardError(message.code, message.message));
        break;
      }
      case "removed": {
        const room = this.#rooms.get(message.room);
        if (room && message.rejoin === true) {
          // The server lost part of the room's stream (stream_lost): the membership ended but the room
          // is kept and joined again at once with its position, which answers recovered:false ("reset").
          room._live = false;
          this.#sendJoin(room);
          break;
        }
        // The server ended this membership (a refreshed token no longer grants the room): the room
        // is left for good, not rejoined after a reconnect.
        if (room) {
          this.#rooms.delete(message.room);
          room._onRemoved(new SwitchboardError(message.code, message.message));
        }
        break;
      }
      case "joined":
      case "left": {
        const room = this.#rooms.get(message.room);
        if (room?._live) room._emit("presence", { type: message.op, room: message.room, user: message.user });
        break;
      }
      case "direct":
        this._emit("direct", { from: message.from ?? null, data: message.data });
        break;
      case "welcome":
        this.#onWelcome(message);
        break;
      default:
        // Newer servers may send ops this client does not know: ignore them.
        break;
    }
  }

  #onWelcome(welcome) {
    this.#clearTimer("connect");
    this.#user = welcome.user;
    this.#session = welcome.session;
    // "connected" before the joins so that commands go straight out, but announced only after
    // them: a listener that calls join() must not see its room joined twice.
    this.#state = "connected";
    this.#timer.stable = this.#timers.setTimeout(() => {
      this.#timer.stable = null;
      this.#attempt = 0;
    }, this.#options.backoff.stableMs);
    this.#scheduleRefresh();
    if (this.#fellBack) {
      // The WebSocket failed and SSE works: stay on SSE for a while rather than pay for a failing
      // WebSocket on every reconnect, then try the WebSocket again (a proxy may have been fixed).
      this.#wsBlocked = true;
      this.#clearTimer("wsRetry");
      this.#timer.wsRetry = this.#timers.setTimeout(() => {
        this.#timer.wsRetry = null;
        this.#wsBlocked = false;
      }, this.#options.wsRetryMs);
    }
    // Joins first, then the queued commands: the server runs one connection's commands in order,
    // so queued publishes land after their room's re-join and after its recovered messages.
    for (const room of this.#rooms.values()) this.#sendJoin(room);
    const queued = this.#queue;
    this.#queue = [];
    for (const entry of queued) this.#transmit(entry);
    this._emit("state", "connected", { transport: this.#transport });
  }

  #onSocketClosed(ws, code, reason) {
    if (this.#ws !== ws) return;
    this.#ws = null;
    detach(ws);
    this.#clearTimer("connect");
    this.#clearTimer("stable");
    this.#clearTimer("refresh");
    this.#clearJoinRetries();
    // The application cannot know whether in-flight commands landed: it decides whether to retry.
    this.#failPending(new SwitchboardError("disconnected", `the connection closed (${code}) before the reply`));
    for (const room of this.#rooms.values()) room._onClosed(null);
    if (this.#state === "closed") return;

    const staticToken = typeof this.#options.getToken !== "function";
    if (!shouldReconnect(code) || (code === 4003 && staticToken)) {
      this.#shutdown(code, reason, new SwitchboardError("closed", `the connection closed with ${code}: ${reason}`));
      return;
    }
    // 1001: the node is draining; another may take the connection at once.
    this.#scheduleReconnect(code, reason, code === 1001 ? 0 : undefined);
  }

  #scheduleReconnect(code, reason, delayMs) {
    this.#attempt++;
    const delay = delayMs ?? backoffDelay(this.#attempt, this.#options.backoff, this.#random);
    this.#setState("reconnecting", { delayMs: delay, attempt: this.#attempt, code, reason });
    this.#timer.retry = this.#timers.setTimeout(() => {
      this.#timer.retry = null;
      if (this.#state !== "closed") this.#connect();
    }, delay);
  }

  #scheduleRefresh() {
    if (typeof this.#options.getToken !== "function" || !this.#token) return;
    const expiry = tokenExpiry(this.#token);
    if (expiry === null) return;
    const remaining = expiry - Date.now();
    const lead = Math.min(this.#options.refreshLeadMs, remaining / 2);
    const delay = Math.min(Math.max(0, remaining - lead), 2 ** 31 - 1);
    const ws = this.#ws;
    this.#timer.refresh = this.#timers.setTimeout(async () => {
      this.#timer.refresh = null;
      let token;
      try {
        token = await this.#options.getToken();
      } catch (error) {
        this._emit("error", new SwitchboardError("refresh_failed", `getToken failed: ${error?.message ?? error}`));
        return;
      }
      if (this.#ws !== ws || this.#state !== "connected" || !token) return;
      // A token that does not live longer (getToken handed back a cached one) is not worth a
      // round trip, and refreshing it again and again as its expiry nears would be a busy loop: the
      // server closes with 4003 at expiry and the reconnect asks getToken again.
      if ((tokenExpiry(token) ?? 0) <= expiry) return;
      this.#request(
        { op: "refresh", token },
        "refresh",
        () => {
          this.#token = token;
          this._emit("refresh", { expiresAt: tokenExpiry(token) });
          if (this.#ws === ws) this.#scheduleRefresh();
        },
        (error) => this._emit("error", error),
      );
    }, delay);
  }

  #failPending(error) {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) {
      if (p.timer !== null) this.#timers.clearTimeout(p.timer);
      p.onError(error);
    }
  }

  /** Final state: nothing is retried, every waiting promise rejects with `error`. */
  #shutdown(code, reason, error) {
    this.#setState("closed", { code, reason });
    this.#clearTimer("retry");
    this.#clearTimer("connect");
    this.#clearTimer("stable");
    this.#clearTimer("refresh");
    this.#clearTimer("wsRetry");
    this.#clearJoinRetries();
    this.#unlistenToWindow();
    this.#failPending(error);
    const queued = this.#queue;
    this.#queue = [];
    for (const entry of queued) entry.reject(error);
    for (const room of this.#rooms.values()) room._onClosed(error);
    if (this.#ws) {
      const ws = this.#ws;
      this.#ws = null;
      detach(ws);
    }
  }

  #setState(state, info) {
    this.#state = state;
    this._emit("state", state, info);
  }

  #clearTimer(name) {
    const id = this.#timer[name];
    this.#timer[name] = null;
    if (id !== null && id !== undefined) this.#timers.clearTimeout(id);
  }

  // ---- browsers: online / offline ----

  #listenToWindow() {
    // Browsers' windows and workers; node and other runtimes have no such events.
    const target = globalThis.window ?? globalThis.self;
    if (!target || typeof target.addEventListener !== "function") return;
    const online = () => {
      // The network is back: retry now rather than at the end of a long backoff.
      if (this.#state === "reconnecting" && this.#timer.retry !== null) {
        this.#clearTimer("retry");
        this.#attempt = 0;
        this.#connect();
      }
    };
    const offline = () => {
      // A socket over a vanished network can take minutes to notice; drop it now and retry with backoff.
      const ws = this.#ws;
      if (ws && this.#state === "connected") {
        abandon(ws, 1000, "offline");
        this.#onSocketClosed(ws, 1006, "offline");
      }
    };
    target.addEventListener("online", online);
    target.addEventListener("offline", offline);
    this.#windowListeners = { target, online, offline };
  }

  #unlistenToWindow() {
    const listeners = this.#windowListeners;
    if (!listeners) return;
    this.#windowListeners = null;
    listeners.target.removeEventListener("online", listeners.online);
    listeners.target.removeEventListener("offline", listeners.offline);
  }
}
