// Types for switchboard.js, the Switchboard JavaScript client (protocol v1, see docs/protocol.md).

/** JSON data as carried by `publish`, `send`, `message` and `direct`. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** How a connection reaches the server: a WebSocket (`/ws`), or server-sent events (`/events`) plus POSTs. */
export type Transport = "websocket" | "sse";

/** The connection's lifecycle. */
export type ConnectionState = "connecting" | "connected" | "reconnecting" | "closed";

/** Details of a `"reconnecting"` state change. */
export interface ReconnectingInfo {
  /** Milliseconds until the next attempt (0 after a 1001 drain). */
  delayMs: number;
  /** 1 for the first retry after a connection was lost; reset once a connection stayed up `backoff.stableMs`. */
  attempt: number;
  /** The close code that ended the previous connection (1006 when it dropped without one; 0 when getToken failed). */
  code: number;
  reason: string;
}

/** Details of a `"closed"` state change. */
export interface ClosedInfo {
  /** 1000 after `close()`; otherwise the close code that forbids reconnecting (4500-4999, 1002, 1007, 1009, ...). */
  code: number;
  reason: string;
}

/** A position in a room's stream. */
export interface StreamPosition {
  offset: number;
  epoch: string;
}

/** Options of a JSON publish. */
export interface PublishOptions {
  /**
   * 1-128 characters of `A-Z a-z 0-9 _ - : . @ / = +`, unique per logical publication (a UUID, an
   * order id). The server appends a publish with a key it saw in the room within its window once;
   * the client sends it again after a reconnect when the connection dropped before the reply.
   */
  idempotencyKey?: string;
}

/** A room publication. JSON publications have `binary: false`; binary ones carry a `Uint8Array`. */
export type Message<T = Json> =
  | { room: string; from: string | null; offset: number; data: T; binary: false }
  | { room: string; from: string | null; offset: number; data: Uint8Array; binary: true };

/** A presence change in a room: a user's first connection joined it, or its last one left. */
export interface PresenceEvent {
  type: "joined" | "left";
  room: string;
  user: string;
}

/** A room member and its number of connections in the room. */
export interface Member {
  user: string;
  connections: number;
}

/** A direct message. `from` is null when the HTTP API sent it. */
export interface DirectMessage<T = Json> {
  from: string | null;
  data: T;
}

export interface HistoryOptions {
  /** The latest `limit` retained publications (default and maximum: the server's History:Size). */
  limit?: number;
  /** Only publications after this position; a number means an offset in the room's current epoch. */
  since?: StreamPosition | number;
}

export interface HistoryResult<T = Json> {
  /** The room's current top. */
  top: StreamPosition;
  /** With `since`: whether everything after it is included. */
  recovered?: boolean;
  messages: Message<T>[];
}

/**
 * An Error with a machine-readable `code`: a server error code (`not_joined`, `forbidden`,
 * `rate_limited`, `invalid_room`, ... see docs/protocol.md) or one of the client's own:
 * `disconnected` (the connection dropped before the reply: the command may or may not have been
 * carried out), `offline_queue_full`, `closed`, `timeout`, `bad_frame`, `refresh_failed`, `invalid_data`,
 * `binary_unsupported` (a binary publish on a connection over server-sent events).
 */
export declare class SwitchboardError extends Error {
  constructor(code: string, message?: string);
  readonly code: string;
}

export interface BackoffOptions {
  /** First retry window in ms (default 500). */
  baseMs?: number;
  /** Largest retry window in ms (default 30000). */
  capMs?: number;
  /** A connection that stays up this long resets the attempt counter (default 10000). */
  stableMs?: number;
}

/** Something `new` can make a WebSocket from: the browser's global, or `ws` in node. */
export interface WebSocketConstructor {
  new (url: string, protocols?: string | string[]): WebSocketLike;
}

/** Something `new` can make an EventSource from (the browser's global). */
export interface EventSourceConstructor {
  new (url: string): {
    onmessage: ((event: any) => void) | null;
    onerror: ((event: any) => void) | null;
    close(): void;
  };
}

/** The part of the WebSocket API the client uses. */
export interface WebSocketLike {
  readonly readyState: number;
  binaryType: string;
  send(data: string | ArrayBufferLike | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: any) => void) | null;
  onmessage: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
}

export interface SwitchboardOptions {
  /** A JWT, sent in `Sec-WebSocket-Protocol` as `bearer.<jwt>` (or in an auth message, see `authMessage`). */
  token?: string;
  /**
   * Called before every connect and reconnect, and again before the token's `exp` to `refresh` the
   * live connection. Takes precedence over `token`. May resolve with null for no token.
   */
  getToken?: () => Promise<string | null | undefined> | string | null | undefined;
  /** Send the token as a first `{"op":"auth"}` message instead of in the subprotocol header. */
  authMessage?: boolean;
  /** Development only: adds `?user=` (the server must allow `Auth:AllowQueryUser`). */
  user?: string;
  /**
   * The WebSocket implementation; defaults to `globalThis.WebSocket` (node 20 has none: pass `ws`,
   * or leave it out to use server-sent events only).
   */
  WebSocket?: WebSocketConstructor;
  /**
   * The transports the client may use, in order of preference (default `["websocket", "sse"]`): a
   * WebSocket that cannot be opened hands its attempt to server-sent events, see `wsRetryMs`.
   */
  transports?: Transport[];
  /** After a WebSocket failed and SSE worked, reconnects use SSE for this long, then try the WebSocket first again (default 60000). */
  wsRetryMs?: number;
  /** The `/events` URL; default: `events` beside the `/ws` path, over http(s) (`wss://h/ws` gives `https://h/events`). */
  sseUrl?: string;
  /** The EventSource implementation for SSE; defaults to `globalThis.EventSource`. Without one (node), `fetch` reads the stream. */
  EventSource?: EventSourceConstructor | null;
  /** The fetch for the SSE stream (without an EventSource) and for the commands' POSTs; defaults to `globalThis.fetch`. */
  fetch?: typeof fetch;
  backoff?: BackoffOptions;
  /** Commands kept while disconnected (default 100); beyond it the oldest is rejected with `offline_queue_full`. */
  offlineQueue?: number;
  /** A request without a reply after this long is rejected with `timeout` (default 30000; 0: never). */
  requestTimeoutMs?: number;
  /** An attempt without a welcome after this long is abandoned and retried (default 15000). */
  connectTimeoutMs?: number;
  /** Refresh the token this long before its `exp`, at most half its remaining life (default 30000). */
  refreshLeadMs?: number;
  /** For tests: the random source of the backoff jitter, in [0, 1). */
  random?: () => number;
  /** For tests: timer functions. */
  setTimeout?: (callback: () => void, ms: number) => unknown;
  clearTimeout?: (id: any) => void;
}

export interface JoinOptions {
  /** Resume from a stored position (for example saved before a page reload): the first join recovers from it. */
  since?: StreamPosition;
}

export interface RoomEvents<T = Json> {
  message: (message: Message<T>) => void;
  presence: (event: PresenceEvent) => void;
  recovered: (info: { count: number }) => void;
  reset: (info: { reason: "epoch_changed" | "too_far_behind" | "history_unavailable" }) => void;
  /**
   * The server removed this connection from the room (e.g. `forbidden`: a refreshed token no longer grants it). The room is left and not rejoined.
   * Not raised for a removal with `rejoin: true` (`stream_lost`: the server lost part of the room's stream): the room is then joined again at
   * once with its position, and `reset` (`epoch_changed` or `too_far_behind`) tells the application to reload the room's state.
   */
  removed: (info: { code: string; message: string }) => void;
  /** A refused join (the room is forgotten), or a retryable one (unavailable, internal, rate_limited: joined again after a backoff). */
  error: (error: SwitchboardError) => void;
}

export declare class Room<T = Json> {
  readonly name: string;
  /** Resolves with the room's position on the first join reply; rejects if that join is refused. */
  readonly joined: Promise<StreamPosition>;
  /** The last delivered position, or null before the first join reply. */
  readonly position: StreamPosition | null;
  /** Adds a listener; returns a function that removes it. */
  on<E extends keyof RoomEvents<T>>(event: E, listener: RoomEvents<T>[E]): () => void;
  off<E extends keyof RoomEvents<T>>(event: E, listener: RoomEvents<T>[E]): void;
  /** JSON: resolves with the reply's position. */
  publish(data: T, options?: PublishOptions): Promise<StreamPosition>;
  /** Binary: resolves once handed to the socket (binary publishes have no reply). */
  publish(data: Uint8Array | ArrayBuffer): Promise<void>;
  presence(): Promise<Member[]>;
  history(options?: HistoryOptions): Promise<HistoryResult<T>>;
  /** Stops delivery and re-joining. Idempotent. */
  leave(): void;
}

/** The arguments of a "state" listener: the info's shape follows the state. */
export type StateChange =
  | [state: "connecting", info: {}]
  | [state: "connected", info: { transport: Transport }]
  | [state: "reconnecting", info: ReconnectingInfo]
  | [state: "closed", info: ClosedInfo];

export interface ClientEvents {
  state: (...change: StateChange) => void;
  direct: (message: DirectMessage) => void;
  /** Errors without a request to reject: errors without id, unparsable frames, failed refreshes. */
  error: (error: SwitchboardError) => void;
  /** A token refresh was accepted. */
  refresh: (info: { expiresAt: number | null }) => void;
}

export declare class Switchboard {
  constructor(url: string, options?: SwitchboardOptions);
  readonly state: ConnectionState;
  /** The user id from the last welcome, or null. */
  readonly user: string | null;
  /** The session id from the last welcome, or null. */
  readonly session: string | null;
  /** The transport of the current (or last) connection attempt. */
  readonly transport: Transport;
  on<E extends keyof ClientEvents>(event: E, listener: ClientEvents[E]): () => void;
  off<E extends keyof ClientEvents>(event: E, listener: ClientEvents[E]): void;
  /** Joins now and after every reconnect; the same name gives the same Room until it is left. */
  join<T = Json>(name: string, options?: JoinOptions): Room<T>;
  /** A direct message to every connection of `user`; resolves on the reply. */
  send(user: string, data: Json): Promise<void>;
  /** Closes for good: state "closed" with code 1000; everything waiting rejects with `closed`. */
  close(): void;
}

/**
 * A WebSocket look-alike over server-sent events, as the client uses it: `GET /events` for the
 * server's messages (an EventSource, or a fetch stream), `send(text)` as ordered POSTs to
 * `/events/{session}`; the stream's close message becomes the close event's code, an end without
 * one 1006. It never reconnects by itself.
 */
export declare class EventStreamSocket implements WebSocketLike {
  constructor(url: string, options?: { token?: string | null; EventSource?: EventSourceConstructor | null; fetch?: typeof fetch });
  readonly readyState: number;
  binaryType: string;
  /** The session id from the welcome, or null before it. */
  readonly session: string | null;
  /** Throws a `binary_unsupported` SwitchboardError for binary data. */
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: any) => void) | null;
  onmessage: ((event: { data: string }) => void) | null;
  onerror: ((event: any) => void) | null;
  onclose: ((event: { code: number; reason: string; wasClean: boolean }) => void) | null;
}

/** The subprotocol offered on every connection. */
export declare const SUBPROTOCOL: "switchboard.v1";
/** Whether the client reconnects after a close with `code`. */
export declare function shouldReconnect(code: number): boolean;
/** The full-jitter backoff delay for `attempt` (1-based). */
export declare function backoffDelay(attempt: number, backoff: { baseMs: number; capMs: number }, random?: () => number): number;
/** A client binary publish frame: 0x01, room length, room, payload. */
export declare function encodeBinaryPublish(room: string, payload: Uint8Array | ArrayBuffer): Uint8Array;
/** A server binary message frame as a Message, or null when malformed. */
export declare function decodeBinaryMessage(data: ArrayBuffer | Uint8Array): Extract<Message, { binary: true }> | null;
/** A JWT's `exp` in ms since the epoch, or null. */
export declare function tokenExpiry(token: string): number | null;
