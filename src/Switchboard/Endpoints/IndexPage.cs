namespace Switchboard.Endpoints;

/// <summary>The page at <c>/</c>: proof that the server runs, and where to go next.</summary>
internal static class IndexPage
{
    public const string Html = """
        <!doctype html>
        <html lang="en">
        <head><meta charset="utf-8"><title>Switchboard</title>
        <style>body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:3rem auto;padding:0 1rem}code,pre{background:#f3f3f3;padding:.1rem .3rem}</style>
        </head>
        <body>
        <h1>Switchboard is running</h1>
        <p>A real-time messaging server: rooms, direct messages, presence and history over WebSocket.</p>
        <ul>
          <li><code>/ws</code>: the JSON protocol, described in <code>docs/protocol.md</code> of the repository</li>
          <li><code>/rooms/{room}</code>: plain mode, any WebSocket client</li>
          <li><code>/echo</code>: echoes every frame</li>
          <li><a href="/switchboard.js">/switchboard.js</a>: the JavaScript client (<code>import { Switchboard } from "/switchboard.js"</code>), with types at <a href="/switchboard.d.ts">/switchboard.d.ts</a></li>
          <li><a href="/api/rooms">/api/rooms</a>, <a href="/healthz">/healthz</a>, <a href="/metrics">/metrics</a></li>
        </ul>
        <p>Options and metrics: <code>docs/configuration.md</code>; security: <code>docs/security.md</code>; benchmarks: <code>docs/benchmarks.md</code>.</p>
        <p>Try it from this page's console (plain rooms need anonymous access, which the development environment turns on):</p>
        <pre>const ws = new WebSocket(`ws://${location.host}/rooms/lobby`);
        ws.onmessage = e =&gt; console.log(e.data);
        ws.onopen = () =&gt; ws.send("hello");</pre>
        </body>
        </html>
        """;
}
