// The chat page: signed in (by the app's cookie), it connects to Switchboard under /realtime. The
// browser sends the cookie with the WebSocket upgrade, so the client needs no token and no user name.
const $ = id => document.getElementById(id);

const me = await fetch("/me");
if (me.status === 401) {
  $("login").hidden = false;
  $("login-error").hidden = new URLSearchParams(location.search).get("error") !== "name";
} else {
  // Imported only once signed in: everything under /realtime, the client script included, requires it.
  const { Switchboard } = await import("/realtime/switchboard.js");
  start(Switchboard, await me.json());
}

function start(Switchboard, { name, rooms }) {
  $("me").textContent = name;
  $("logout").hidden = false;
  $("chat").hidden = false;

  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const client = new Switchboard(`${scheme}://${location.host}/realtime/ws`);
  client.on("state", (state, info) => {
    $("state").dataset.state = state;
    $("state").textContent = state === "closed" ? `closed (${info.code} ${info.reason})` : state;
  });
  client.on("error", error => showNotice(error.message));

  let room = null;
  const select = roomName => {
    room?.leave();
    $("messages").replaceChildren();
    for (const button of $("rooms").children) {
      button.setAttribute("aria-pressed", String(button.textContent === roomName));
    }
    delete $("messages").dataset.joined;
    const joining = client.join(roomName);
    room = joining;
    // In the DOM for whoever waits for it (the sample's browser test): messages flow from here on.
    joining.joined.then(() => { if (room === joining) $("messages").dataset.joined = roomName; }, () => {});
    room.on("message", m => addMessage(m.from, m.data?.text));
    room.on("error", error => showNotice(`${roomName}: ${error.message}`));
  };

  for (const roomName of rooms) {
    const button = document.createElement("button");
    button.textContent = roomName;
    button.addEventListener("click", () => select(roomName));
    $("rooms").append(button, " ");
  }
  select(rooms[0]);

  $("send").addEventListener("submit", event => {
    event.preventDefault();
    const text = $("text").value.trim();
    if (text && room) {
      room.publish({ text }).catch(error => showNotice(error.message));
      $("text").value = "";
    }
  });
}

function addMessage(from, text) {
  const li = document.createElement("li");
  const who = document.createElement("b");
  who.textContent = from ?? "server";
  li.append(who, String(text ?? ""));
  $("messages").append(li);
}

function showNotice(text) {
  $("notice").textContent = text;
}
