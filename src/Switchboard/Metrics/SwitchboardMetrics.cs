using System.Diagnostics.Metrics;

namespace Switchboard.Metrics;

/// <summary>
/// The node's instruments. One <see cref="Meter"/> per service provider (from <see cref="IMeterFactory"/>),
/// so two servers in one process report separately: <c>AddSwitchboardTelemetry()</c> exports only the
/// meter of its own service provider.
/// </summary>
public sealed class SwitchboardMetrics
{
    /// <summary>The meter name, for OpenTelemetry or dotnet-counters.</summary>
    public const string MeterName = "Switchboard";

    /// <summary>Creates the instruments.</summary>
    public SwitchboardMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        Meter = meterFactory.Create(MeterName);
        ConnectionsAccepted = Meter.CreateCounter<long>("switchboard.connections.accepted", description: "WebSocket connections accepted.");
        ConnectionsCompressed = Meter.CreateCounter<long>("switchboard.connections.compressed", description: "WebSocket connections accepted with permessage-deflate negotiated.");
        MessagesIn = Meter.CreateCounter<long>("switchboard.messages.in", description: "Messages received from clients.");
        MessagesOut = Meter.CreateCounter<long>("switchboard.messages.out", description: "Messages written to clients (a batched frame counts each message).");
        BytesIn = Meter.CreateCounter<long>("switchboard.bytes.in", description: "Payload bytes received from clients.");
        BytesOut = Meter.CreateCounter<long>("switchboard.bytes.out", description: "Payload bytes written to clients.");
        Publications = Meter.CreateCounter<long>("switchboard.publications", description: "Publications accepted (WebSocket and HTTP API).");
        SlowConsumerDisconnects = Meter.CreateCounter<long>("switchboard.slow_consumer.disconnects", description: "Connections closed because their outbound queue overflowed.");
        Errors = Meter.CreateCounter<long>("switchboard.errors", description: "Error replies sent to clients, by error code.");
        Closes = Meter.CreateCounter<long>("switchboard.closes", description: "Connections closed by the server, by close code.");
        StreamPostsForwarded = Meter.CreateCounter<long>("switchboard.stream.posts.forwarded", description: "POSTs of stream commands this node forwarded to the node that holds the stream, by outcome.");
        // Untagged counters are exported from zero, so rate() and alerts work before the first event.
        foreach (var counter in new[] { ConnectionsAccepted, ConnectionsCompressed, MessagesIn, MessagesOut, BytesIn, BytesOut, Publications, SlowConsumerDisconnects })
        {
            counter.Add(0);
        }
    }

    /// <summary>The meter all instruments belong to.</summary>
    public Meter Meter { get; }

    /// <summary>WebSocket connections accepted.</summary>
    public Counter<long> ConnectionsAccepted { get; }

    /// <summary>WebSocket connections accepted with permessage-deflate negotiated.</summary>
    public Counter<long> ConnectionsCompressed { get; }

    /// <summary>Messages received from clients.</summary>
    public Counter<long> MessagesIn { get; }

    /// <summary>Messages written to clients.</summary>
    public Counter<long> MessagesOut { get; }

    /// <summary>Bytes received.</summary>
    public Counter<long> BytesIn { get; }

    /// <summary>Bytes written.</summary>
    public Counter<long> BytesOut { get; }

    /// <summary>Publications accepted.</summary>
    public Counter<long> Publications { get; }

    /// <summary>Slow-consumer disconnects.</summary>
    public Counter<long> SlowConsumerDisconnects { get; }

    /// <summary>Error replies, tagged <c>code</c>.</summary>
    public Counter<long> Errors { get; }

    /// <summary>Server-initiated closes, tagged <c>code</c>.</summary>
    public Counter<long> Closes { get; }

    /// <summary>POSTs of stream commands forwarded to another node, tagged <c>outcome</c> (<c>accepted</c>, <c>forbidden</c>, ...).</summary>
    public Counter<long> StreamPostsForwarded { get; }

}
