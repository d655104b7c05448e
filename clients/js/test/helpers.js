// Test utilities: a real Switchboard server process, bounded waits, recorded sockets, HS256 tokens.
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, "../../..");
export const serverDll = resolve(repoRoot, "src/Switchboard.Server/bin/Release/net10.0/Switchboard.Server.dll");

/** Every await in these tests is bounded by this unless stated otherwise. */
export const TIMEOUT_MS = 10_000;

/** Limits high enough that no test is rate-limited by accident, as in the .NET TestServer. */
const TEST_SETTINGS = {
  Switchboard__Limits__PublishesPerSecond: "1000000",
  Switchboard__Limits__PublishBurst: "1000000",
  Switchboard__Limits__CommandsPerSecond: "1000000",
  Switchboard__Limits__CommandBurst: "1000000",
  Switchboard__Limits__JoinsPerSecond: "1000000",
  Switchboard__Limits__JoinBurst: "1000000",
  Switchboard__Limits__ReadsPerSecond: "1000000",
  Switchboard__Limits__ReadBurst: "1000000",
  Switchboard__Limits__ReplyBytesPerSecond: "1000000000",
  Switchboard__Limits__ReplyBurstBytes: "1000000000",
  Switchboard__Limits__UserPublishesPerSecond: "1000000",
  Switchboard__Limits__UserPublishBurst: "1000000",
  Switchboard__Limits__PresenceEventsPerSecond: "1000000",
  Switchboard__Limits__PresenceEventBurst: "1000000",
  Switchboard__Shutdown__DrainSeconds: "1",
};

/**
 * Starts the built host on 127.0.0.1 (port 0 unless given) and resolves once it prints its address.
 * @param {{ env?: Record<string,string>, port?: number }} [options]
 */
export async function startServer(options = {}) {
  if (!existsSync(serverDll)) {
    throw new Error(`build the server first: dotnet build src/Switchboard.Server -c Release (${serverDll} is missing)`);
  }
  const port = options.port ?? 0;
  const child = spawn("dotnet", [serverDll, "--urls", `http://127.0.0.1:${port}`, "--environment", "Development"], {
    cwd: repoRoot,
    env: { ...process.env, ...TEST_SETTINGS, ...(options.env ?? {}), DOTNET_NOLOGO: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise((res) => child.once("exit", (code, signal) => res({ code, signal })));
  let output = "";
  const bound = await withTimeout(
    new Promise((res, rej) => {
      const onData = (chunk) => {
        output += chunk;
        const match = /Now listening on: http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
        if (match) {
          child.stdout.off("data", onData);
          res(Number(match[1]));
        }
      };
      child.stdout.setEncoding("utf8").on("data", onData);
      child.stderr.setEncoding("utf8").on("data", (chunk) => (output += chunk));
      child.once("exit", (code) => rej(new Error(`server exited with ${code} before listening:\n${output}`)));
    }),
    30_000,
    "server start",
  );
  // Keep draining the pipes so a chatty server never blocks on a full pipe.
  child.stdout.resume();
  child.stderr.resume();
  return {
    port: bound,
    http: `http://127.0.0.1:${bound}`,
    ws: `ws://127.0.0.1:${bound}/ws`,
    /** Stops the process gracefully (SIGTERM: the server drains, closing with 1001) and waits for it to be gone. */
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await withTimeout(exited, 30_000, "server exit after SIGTERM");
    },
    /** Kills the process at once (SIGKILL) and waits for it to be gone. */
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await withTimeout(exited, TIMEOUT_MS, "server exit");
    },
  };
}

/** Rejects when `promise` does not settle within `ms`. */
export function withTimeout(promise, ms = TIMEOUT_MS, what = "operation") {
  let timer;
  const timeout = new Promise((_, rej) => {
    timer = setTimeout(() => rej(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves with the arguments of the next `event` on `emitter` whose arguments satisfy `predicate`. */
export function next(emitter, event, predicate = () => true, ms = TIMEOUT_MS) {
  let off;
  const promise = new Promise((res) => {
    off = emitter.on(event, (...args) => {
      if (predicate(...args)) res(args);
    });
  });
  return withTimeout(promise, ms, `"${event}"`).finally(() => off());
}

/** Resolves once `client.state` is `state` (now or later). */
export function state(client, wanted, ms = TIMEOUT_MS) {
  if (client.state === wanted) return Promise.resolve();
  return next(client, "state", (s) => s === wanted, ms);
}

/**
 * Collects a room's messages and lets a test wait for a condition over them, re-checked on every
 * message (no polling, no sleeping).
 */
export function collect(room, event = "message") {
  const items = [];
  const waiters = new Set();
  room.on(event, (item) => {
    items.push(item);
    for (const w of [...waiters]) w();
  });
  return {
    items,
    until(predicate, ms = TIMEOUT_MS, what = "messages") {
      if (predicate(items)) return Promise.resolve(items);
      let check;
      const promise = new Promise((res) => {
        check = () => {
          if (predicate(items)) res(items);
        };
        waiters.add(check);
      });
      return withTimeout(promise, ms, what).finally(() => waiters.delete(check));
    },
    count(n, ms) {
      return this.until((xs) => xs.length >= n, ms, `${n} ${event} events (have ${items.length})`);
    },
  };
}

/**
 * A WebSocket class for the client's `WebSocket` option that records every socket it makes and the
 * subprotocols offered, and counts text frames, so tests can drop a socket or inspect the handshake.
 */
export function recordingWebSocket() {
  const sockets = [];
  class Recording extends WebSocket {
    constructor(url, protocols) {
      super(url, protocols);
      this.offered = protocols;
      this.url_ = url;
      this.textFrames = [];
      this.on("message", (data, isBinary) => {
        if (!isBinary) this.textFrames.push(data.toString());
      });
      sockets.push(this);
    }
  }
  return { WebSocket: Recording, sockets };
}

/** An HS256 JWT for `payload` signed with `secret`. */
export function makeJwt(secret, payload) {
  const encode = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const body = `${encode({ alg: "HS256", typ: "JWT" })}.${encode(payload)}`;
  return `${body}.${createHmac("sha256", secret).update(body).digest("base64url")}`;
}

/** A gate a test opens when it wants a waiting step (for example a reconnect) to go on. */
export function gate() {
  let open;
  const promise = new Promise((res) => (open = res));
  return { promise, open };
}

/** POSTs JSON to the server's HTTP API (development servers need no key). */
export async function api(server, path, body) {
  const response = await fetch(server.http + path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  return response.json();
}
