using System.Diagnostics;

namespace Switchboard.Telemetry;

/// <summary>
/// Switchboard's <see cref="ActivitySource"/>: spans for connect, join, publish and delivery. Static, as
/// .NET's own libraries keep theirs: a span belongs to the trace it continues, not to one service provider.
/// </summary>
/// <remarks>
/// The span names below are public API: dashboards and samplers select on them. docs/architecture.md
/// lists each span's kind, parent and tags.
/// </remarks>
public static class SwitchboardTracing
{
    /// <summary>The source name, for OpenTelemetry's <c>AddSource</c> or an <see cref="ActivityListener"/>.</summary>
    public const string SourceName = "Switchboard";

    /// <summary>A WebSocket upgrade up to the session's welcome (or its refusal); a child of the upgrade request's span.</summary>
    public const string ConnectSpan = "switchboard.connect";

    /// <summary>A <c>join</c> command: membership, the room's subscription and the stream read.</summary>
    public const string JoinSpan = "switchboard.join";

    /// <summary>A read of a room's stream inside a join (the recovery); a child of <see cref="JoinSpan"/>.</summary>
    public const string StreamReadSpan = "switchboard.stream.read";

    /// <summary>A publication to a room, from the WebSocket <c>publish</c> or the HTTP API, until the broker gave it an offset.</summary>
    public const string PublishSpan = "switchboard.publish";

    /// <summary>One node handing one publication to its members of the room: one span per publication per node.</summary>
    public const string DeliverSpan = "switchboard.deliver";

    /// <summary>A direct message to a user (<c>send</c>, <c>POST /api/send</c>).</summary>
    public const string SendSpan = "switchboard.send";

    /// <summary>A <c>history</c> command or <c>GET /api/rooms/{room}/history</c>.</summary>
    public const string HistorySpan = "switchboard.history";

    /// <summary>A <c>presence</c> command or <c>GET /api/rooms/{room}/presence</c>.</summary>
    public const string PresenceSpan = "switchboard.presence";

    /// <summary><c>GET /api/rooms</c>.</summary>
    public const string RoomsSpan = "switchboard.rooms";

    /// <summary>The source all of Switchboard's spans start from.</summary>
    public static ActivitySource Source { get; } = new(SourceName);

    /// <summary>
    /// The <see cref="PublishSpan"/> running on this async flow, or null. A broker that carries
    /// publications between processes sends its context (W3C <c>traceparent</c> and <c>tracestate</c>)
    /// along, so that the delivery on another node continues the publisher's trace; see
    /// <see cref="Brokers.Publication.TraceContext"/>.
    /// </summary>
    /// <remarks>
    /// Only Switchboard's own publish span counts, not whatever else is current (ASP.NET Core creates a
    /// request activity for its log scopes even when nobody traces): with no listener sampling this
    /// source, nothing is added to a publication.
    /// </remarks>
    public static Activity? CurrentPublish =>
        Activity.Current is { } current
        && ReferenceEquals(current.Source, Source)
        && current.IdFormat == ActivityIdFormat.W3C
        && current.OperationName == PublishSpan
            ? current
            : null;
}
