namespace Switchboard.Options;

/// <summary>
/// Where Switchboard's endpoints are mapped. The client-facing ones are relative to the prefix given to
/// <c>MapSwitchboard(prefix)</c>; the probes are at the root, outside it.
/// </summary>
public sealed class PathsOptions
{
    /// <summary>The protocol WebSocket endpoint.</summary>
    public string WebSocket { get; set; } = "/ws";

    /// <summary>The plain-room WebSocket endpoint; must contain the <c>{room}</c> parameter.</summary>
    public string Rooms { get; set; } = "/rooms/{room}";

    /// <summary>The echo WebSocket endpoint.</summary>
    public string Echo { get; set; } = "/echo";

    /// <summary>The server-sent-events stream of the protocol (<c>GET</c>, <c>text/event-stream</c>).</summary>
    public string Events { get; set; } = "/events";

    /// <summary>Where an HTTP stream's commands are posted; must contain the <c>{session}</c> parameter.</summary>
    public string EventCommands { get; set; } = "/events/{session}";

    /// <summary>The protocol as newline-delimited JSON over one HTTP response (<c>GET</c> or <c>POST</c>), for clients without <c>EventSource</c>.</summary>
    public string Stream { get; set; } = "/stream";

    /// <summary>The base of the HTTP API (<c>/api/publish</c>, <c>/api/rooms</c>, ...).</summary>
    public string Api { get; set; } = "/api";

    /// <summary>The JavaScript client (an ES module).</summary>
    public string ClientScript { get; set; } = "/switchboard.js";

    /// <summary>The JavaScript client's TypeScript declarations.</summary>
    public string ClientTypes { get; set; } = "/switchboard.d.ts";

    /// <summary>The liveness probe, at the root.</summary>
    public string Health { get; set; } = "/healthz";

    /// <summary>The readiness probe, at the root.</summary>
    public string Ready { get; set; } = "/readyz";

    /// <summary>The Prometheus scrape endpoint, at the root.</summary>
    public string Metrics { get; set; } = "/metrics";
}
