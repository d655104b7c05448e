// The demo chat: one room, its members, its history, text and images, and the connection's state.
// Everything it shows is also in the DOM as attributes (data-state, data-offset, data-user), so the
// browser tests assert what a user sees rather than guessing at timing.
import { Switchboard } from "/switchboard.js";

const NAME_RULE = /^[A-Za-z0-9_\-:.@/=+]{1,128}$/;
const HISTORY = 50;
// Messages kept on the page: a busy room must not grow the page without end. The oldest go first.
const MAX_SHOWN = 500;
// Limits:MaxMessageBytes, written into the page by the server that serves it.
const MAX_MESSAGE_BYTES = Number(document.querySelector('meta[name="switchboard-max-message-bytes"]')?.content) || 65536;
// Sides of the scaled image tried in turn, largest first, until its encoding fits the limit.
const IMAGE_SIDES = [1280, 960, 720, 540, 400, 300, 200];

const $ = id => document.getElementById(id);
const state = $("state");
const messages = $("messages");
const members = $("members");
const notice = $("notice");

let client = null;
let room = null;
let me = null;
let roomName = "";
let countdown = null;
let everConnected = false;
let recovered = null;
let closeCode = null;
const NEEDS_TOKEN = "This server wants a token: the demo connects with ?user=NAME, which only the development settings (Auth:AllowQueryUser) accept.";

// ---- joining ----------------------------------------------------------------------------------

const params = new URLSearchParams(location.search);
$("name").value = params.get("user") ?? localStorage.getItem("switchboard-demo-name") ?? "guest-" + Math.random().toString(36).slice(2, 6);
$("room").value = params.get("room") ?? localStorage.getItem("switchboard-demo-room") ?? "lobby";

$("join-form").addEventListener("submit", event => {
  event.preventDefault();
  const name = $("name").value.trim();
  const wanted = $("room").value.trim();
  if (!NAME_RULE.test(name) || !NAME_RULE.test(wanted)) {
    showNotice("Names and rooms are 1-128 letters, digits or _ - : . @ / = +");
    return;
  }
  localStorage.setItem("switchboard-demo-name", name);
  localStorage.setItem("switchboard-demo-room", wanted);
  start(name, wanted);
});

async function start(name, joinedRoom) {
  me = name;
  roomName = joinedRoom;
  $("join-form").hidden = true;
  $("chat").hidden = false;
  $("room-title").textContent = "#" + roomName;
  document.title = `#${roomName} · Switchboard demo`;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  client = new Switchboard(`${scheme}://${location.host}/ws`, { user: name });
  client.on("state", onState);
  // Failures without a reply (a binary publish refused, for example) arrive here.
  client.on("error", error => showNotice(describe(error)));
  room = client.join(roomName);
  room.on("message", m => addMessage(m));
  room.on("presence", onPresence);
  room.on("error", error => showNotice("Could not join: " + describe(error)));
  room.on("recovered", r => {
    recovered = r.count;
    if (state.dataset.state === "connected") {
      showConnected();
    }
  });
  room.on("reset", r => {
    if (r?.reason === "epoch_changed") {
      // The server forgot the room: offsets start again at 1, so what is shown can no longer be
      // placed by offset. It stays on screen, above a line, and the new stream follows it.
      for (const li of messages.querySelectorAll("li[data-offset]")) {
        li.removeAttribute("data-offset");
        li.classList.add("stale");
      }
      const line = document.createElement("li");
      line.className = "gap";
      line.textContent = "the server forgot this room; earlier messages above";
      messages.append(line);
    }
    showNotice("Some messages were missed and could not be recovered.");
    loadHistory();
  });
  try {
    await room.joined;
    // The server has the page as a member from here on.
    $("chat").dataset.joined = "true";
    await Promise.all([loadHistory(), loadMembers()]);
    $("text").focus();
  } catch (error) {
    showNotice("Could not join: " + describe(error) + (closeCode === 4501 ? ". " + NEEDS_TOKEN : ""));
  }
}

// ---- connection state -------------------------------------------------------------------------

function onState(next, info = {}) {
  clearInterval(countdown);
  if (next === "connected") {
    showConnected();
    if (everConnected && room) {
      // Members may have come and gone while this page was away: ask again.
      loadMembers();
    }
    everConnected = true;
  } else if (next === "reconnecting") {
    if (state.dataset.state === "connected") {
      // Outages seen, for anyone checking afterwards that one happened (a fast reconnect is a blink).
      state.dataset.outages = String(Number(state.dataset.outages ?? 0) + 1);
    }
    recovered = null;
    delete state.dataset.recovered;
    const until = Date.now() + (info.delayMs ?? 0);
    const tick = () => {
      const seconds = Math.max(0, Math.ceil((until - Date.now()) / 1000));
      setState("reconnecting", seconds > 0 ? `reconnecting in ${seconds} s` : "reconnecting…");
    };
    tick();
    countdown = setInterval(tick, 250);
    state.title = info.code ? `closed with ${info.code}${info.reason ? ": " + info.reason : ""}, attempt ${info.attempt ?? 1}` : "";
  } else if (next === "connecting") {
    setState("connecting", "connecting…");
  } else if (next === "closed") {
    setState("closed", `disconnected (${info.code ?? "?"})${info.reason ? ": " + info.reason : ""}`);
    closeCode = info.code;
    if (info.code === 4501) {
      showNotice(NEEDS_TOKEN);
    }
  }
}

/** "connected", and what the last re-join recovered, whichever of the two events came first. */
function showConnected() {
  if (recovered !== null) {
    state.dataset.recovered = String(recovered);
  }
  setState("connected", recovered === null ? "connected" : `connected · recovered ${recovered} message${recovered === 1 ? "" : "s"}`);
}

function setState(name, text) {
  state.dataset.state = name;
  state.textContent = text;
}

// ---- members ----------------------------------------------------------------------------------

async function loadMembers() {
  try {
    const list = await room.presence();
    members.replaceChildren();
    for (const { user } of list) {
      addMember(user);
    }
  } catch (error) {
    showNotice("Could not read the members: " + describe(error));
  }
}

function onPresence(p) {
  if (p.type === "joined") {
    addMember(p.user);
  } else if (p.type === "left") {
    members.querySelector(`li[data-user="${CSS.escape(p.user)}"]`)?.remove();
    countMembers();
  }
}

function addMember(user) {
  if (members.querySelector(`li[data-user="${CSS.escape(user)}"]`)) {
    return;
  }
  const li = document.createElement("li");
  li.dataset.user = user;
  li.textContent = user;
  if (user === me) {
    li.classList.add("me");
  }
  const after = [...members.children].find(other => other.dataset.user.localeCompare(user) > 0);
  members.insertBefore(li, after ?? null);
  countMembers();
}

function countMembers() {
  const count = members.children.length;
  $("member-count").textContent = String(count);
  $("member-count").dataset.count = String(count);
}

// ---- messages ---------------------------------------------------------------------------------

async function loadHistory() {
  try {
    const { messages: past } = await room.history({ limit: HISTORY });
    for (const m of past) {
      addMessage(m);
    }
  } catch (error) {
    showNotice("Could not read the history: " + describe(error));
  }
}

/** Adds a message in offset order; one already shown (history and live overlap) is skipped. */
function addMessage(m) {
  if (messages.querySelector(`li[data-offset="${m.offset}"]`)) {
    return;
  }
  const li = document.createElement("li");
  li.dataset.offset = String(m.offset);
  li.dataset.from = m.from ?? "";
  if (m.from === me) {
    li.classList.add("mine");
  }
  const from = document.createElement("span");
  from.className = "from";
  from.textContent = m.from ?? "HTTP API";
  li.append(from, render(m));
  const after = [...messages.children].find(other => Number(other.dataset.offset) > m.offset);
  const atBottom = messages.scrollHeight - messages.scrollTop - messages.clientHeight < 40;
  messages.insertBefore(li, after ?? null);
  while (messages.children.length > MAX_SHOWN) {
    const oldest = messages.firstElementChild;
    const image = oldest.querySelector("img");
    if (image) {
      URL.revokeObjectURL(image.src);
    }
    oldest.remove();
  }
  if (atBottom || m.from === me) {
    messages.scrollTop = messages.scrollHeight;
  }
}

function render(m) {
  if (m.binary || m.data instanceof Uint8Array) {
    const bytes = m.data instanceof Uint8Array ? m.data : new Uint8Array(m.data);
    const type = imageType(bytes);
    if (type) {
      const img = document.createElement("img");
      img.className = "image";
      img.alt = `image from ${m.from ?? "the HTTP API"}`;
      img.src = URL.createObjectURL(new Blob([bytes], { type }));
      const a = document.createElement("a");
      a.href = img.src;
      a.target = "_blank";
      a.append(img);
      return a;
    }
    return text(`[${bytes.length} bytes of binary data]`);
  }
  const data = m.data;
  if (typeof data === "string") {
    return text(data);
  }
  if (data && typeof data.text === "string") {
    return text(data.text);
  }
  return text(JSON.stringify(data));
}

function text(value) {
  const span = document.createElement("span");
  span.className = "text";
  span.textContent = value;
  return span;
}

/** The image type of a PNG, JPEG, GIF or WebP by its first bytes, or null. */
function imageType(b) {
  if (b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return "image/png";
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "image/jpeg";
  if (b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46) return "image/gif";
  if (b[0] === 0x52 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x46 && b[8] === 0x57 && b[9] === 0x45) return "image/webp";
  return null;
}

// ---- sending ----------------------------------------------------------------------------------

$("composer").addEventListener("submit", async event => {
  event.preventDefault();
  const input = $("text");
  const value = input.value.trim();
  if (!value || !room) {
    return;
  }
  input.value = "";
  try {
    await room.publish({ text: value });
    hideNotice();
  } catch (error) {
    input.value ||= value;
    showNotice("Not sent: " + describe(error));
  }
});

$("image").addEventListener("change", event => {
  const file = event.target.files?.[0];
  event.target.value = "";
  if (file) {
    sendImage(file);
  }
});

document.addEventListener("paste", event => {
  const file = [...(event.clipboardData?.files ?? [])].find(f => f.type.startsWith("image/"));
  if (file && room) {
    event.preventDefault();
    sendImage(file);
  }
});

const conversation = $("conversation");
conversation.addEventListener("dragover", event => {
  event.preventDefault();
  conversation.classList.add("dropping");
});
conversation.addEventListener("dragleave", () => conversation.classList.remove("dropping"));
conversation.addEventListener("drop", event => {
  event.preventDefault();
  conversation.classList.remove("dropping");
  const file = [...(event.dataTransfer?.files ?? [])].find(f => f.type.startsWith("image/"));
  if (file) {
    sendImage(file);
  } else {
    showNotice("Only images can be dropped here.");
  }
});

async function sendImage(file) {
  if (!room) {
    return;
  }
  if (!file.type.startsWith("image/")) {
    showNotice(`${file.name} is not an image.`);
    return;
  }
  // The binary header of a publish is 0x01, the room's length, the room: the payload gets the rest.
  const budget = MAX_MESSAGE_BYTES - 2 - roomName.length;
  try {
    const bytes = await fitImage(file, budget);
    if (!bytes) {
      showNotice(`That image is too big to send: even scaled down it exceeds the server's limit of ${formatBytes(MAX_MESSAGE_BYTES)} a message.`);
      return;
    }
    await room.publish(bytes);
    if (bytes.length < file.size) {
      showNotice(`Image scaled down to ${formatBytes(bytes.length)} to fit the server's ${formatBytes(MAX_MESSAGE_BYTES)} limit.`);
    } else {
      hideNotice();
    }
  } catch (error) {
    showNotice("Image not sent: " + describe(error));
  }
}

/** The image's bytes as they are when they fit, else re-encoded smaller until they do; null if they never do. */
async function fitImage(file, budget) {
  const original = new Uint8Array(await file.arrayBuffer());
  if (original.length <= budget && imageType(original)) {
    return original;
  }
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw new Error("the browser cannot read this image");
  }
  try {
    const canvas = document.createElement("canvas");
    for (const side of IMAGE_SIDES) {
      const scale = Math.min(1, side / Math.max(bitmap.width, bitmap.height));
      canvas.width = Math.max(1, Math.round(bitmap.width * scale));
      canvas.height = Math.max(1, Math.round(bitmap.height * scale));
      const context = canvas.getContext("2d");
      context.fillStyle = "#fff"; // JPEG has no transparency: a white background, not black.
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      for (const quality of [0.85, 0.7, 0.5]) {
        const blob = await new Promise(resolve => canvas.toBlob(resolve, "image/jpeg", quality));
        if (blob && blob.size <= budget) {
          return new Uint8Array(await blob.arrayBuffer());
        }
      }
    }
    return null;
  } finally {
    bitmap.close();
  }
}

// ---- helpers ----------------------------------------------------------------------------------

function showNotice(message) {
  notice.textContent = message;
  notice.hidden = false;
}

function hideNotice() {
  notice.hidden = true;
  notice.textContent = "";
}

function describe(error) {
  return error?.code ? `${error.code}: ${error.message}` : error?.message ?? String(error);
}

function formatBytes(n) {
  return n >= 1048576 ? `${(n / 1048576).toFixed(1)} MiB` : `${Math.round(n / 1024)} KiB`;
}

if (params.has("user") && params.has("room") && params.get("join") !== "no") {
  // A link such as /?user=alice&room=lobby joins at once (handy for sharing and for tests).
  $("join-form").requestSubmit();
}
