namespace Switchboard.Options;

/// <summary>WebSocket-level pings, sent by Kestrel's WebSocket middleware rather than a timer per connection.</summary>
public sealed class HeartbeatOptions
{
    /// <summary>Seconds between pings the server sends; also announced to clients in <c>welcome.ping</c>.</summary>
    public double IntervalSeconds { get; set; } = 25;

    /// <summary>Seconds the server waits for a pong before aborting the connection.</summary>
    public double TimeoutSeconds { get; set; } = 10;
}
