namespace Switchboard.Options;

/// <summary>
/// Everything configurable about a Switchboard node, bound from the <c>Switchboard</c> configuration
/// section (so <c>Switchboard__Limits__MaxMessageBytes</c> in the environment). Validated at start-up.
/// </summary>
public sealed class SwitchboardOptions
{
    /// <summary>The configuration section name.</summary>
    public const string SectionName = "Switchboard";

    /// <summary>
    /// Which broker carries publications between nodes: <c>memory</c> (one node, no other service) or
    /// <c>redis</c> (several nodes; needs the Switchboard.Redis package's <c>AddSwitchboardRedis()</c>).
    /// </summary>
    public string Broker { get; set; } = "memory";

    /// <summary>Sizes, counts and queue bounds.</summary>
    public LimitsOptions Limits { get; set; } = new();

    /// <summary>Per-room history retention.</summary>
    public HistoryOptions History { get; set; } = new();

    /// <summary>permessage-deflate on WebSocket connections (off by default).</summary>
    public CompressionOptions Compression { get; set; } = new();

    /// <summary>WebSocket ping interval and timeout.</summary>
    public HeartbeatOptions Heartbeat { get; set; } = new();

    /// <summary>How connections get their user id.</summary>
    public AuthOptions Auth { get; set; } = new();

    /// <summary>Graceful shutdown.</summary>
    public ShutdownOptions Shutdown { get; set; } = new();

    /// <summary>HTTP API access.</summary>
    public ApiOptions Api { get; set; } = new();

    /// <summary>Room permissions.</summary>
    public RoomsOptions Rooms { get; set; } = new();

    /// <summary>Where the endpoints are mapped.</summary>
    public PathsOptions Paths { get; set; } = new();

    /// <summary>
    /// Browser origins (<c>https://app.example.com</c>) allowed to open WebSockets; <c>*</c> allows any.
    /// Requests without an <c>Origin</c> header (non-browser clients) are always allowed, and so is the
    /// server's own origin. Others get 403 before the upgrade.
    /// </summary>
    public List<string> AllowedOrigins { get; set; } = [];

    /// <summary>
    /// The origin browsers load this server's own pages from (<c>https://chat.example.com</c>). When set,
    /// it is the server's own origin for the origin check, instead of the request's <c>Host</c> header,
    /// which a DNS-rebinding page controls.
    /// </summary>
    public string? PublicOrigin { get; set; }

    /// <summary>Whether any <c>http://localhost:*</c> or <c>http://127.0.0.1:*</c> origin is allowed (on in development).</summary>
    public bool AllowLocalhostOrigins { get; set; }

    /// <summary>
    /// Addresses (<c>10.0.0.7</c>) or networks (<c>10.0.0.0/8</c>) of reverse proxies whose
    /// <c>X-Forwarded-For</c> is believed. When set, the framework's forwarded-headers middleware runs
    /// first in the pipeline with exactly these proxies, so the client's address is right for the per-IP
    /// limit and for the app alike. From anyone else the header is ignored.
    /// </summary>
    public List<string> TrustedProxies { get; set; } = [];
}
