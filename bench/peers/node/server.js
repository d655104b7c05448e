// The Node peer of the Switchboard comparison (docs/benchmarks.md), on the `ws` package:
// GET /ws?room=R joins room R, and every text frame a member sends goes to every member, the
// sender included. Usage: node server.js PORT
'use strict';
const http = require('node:http');
const { WebSocketServer } = require('ws');

// A member whose unsent bytes pass this is slow: it is closed rather than buffered without limit.
const maxBufferedBytes = 4 * 1024 * 1024;

const port = Number(process.argv[2] ?? 8080);
const rooms = new Map();
const server = http.createServer((req, res) => { res.writeHead(404); res.end(); });
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 64 * 1024 });

server.on('upgrade', (req, socket, head) => {
  const url = new URL(req.url, 'http://localhost');
  const room = url.searchParams.get('room');
  if (url.pathname !== '/ws' || !room) {
    socket.destroy();
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => join(ws, room));
});

function join(ws, room) {
  let members = rooms.get(room);
  if (!members) {
    members = new Set();
    rooms.set(room, members);
  }
  members.add(ws);
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    for (const member of members) {
      if (member.readyState !== member.OPEN) continue;
      if (member.bufferedAmount > maxBufferedBytes) {
        member.close(4000, 'slow consumer');
        continue;
      }
      member.send(data, { binary: false });
    }
  });
  ws.on('close', () => {
    members.delete(ws);
    if (members.size === 0 && rooms.get(room) === members) rooms.delete(room);
  });
  ws.on('error', () => ws.terminate());
}

server.listen(port, '127.0.0.1');
