using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Switchboard.Identity;
using Switchboard.Metrics;
using Switchboard.Options;

namespace Switchboard.Connections;

/// <summary>
/// One client session: its identity, its rooms, its limits, its bounded outbound queue, its close
/// request, and the send loop that is the only writer to its <see cref="ITransport"/>. The endpoint
/// that accepted the transport owns the instance and runs its loops; everybody else only calls
/// <see cref="TryEnqueue"/> and <see cref="RequestClose"/>, which never block.
/// </summary>
public sealed partial class Connection : IDisposable
{
    private static long s_lastId;

    private readonly ITransport _transport;
    private readonly Channel<OutboundFrame> _queue;
    private readonly LimitsOptions _limits;
    private readonly SwitchboardMetrics _metrics;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _lifetime = new();
    private ConnectionIdentity? _identity;

    internal Connection(ITransport transport, string session, ConnectionIdentity? identity, bool batchText, LimitsOptions limits, SwitchboardMetrics metrics, ILogger logger)
    {
        _transport = transport;
        _limits = limits;
        _metrics = metrics;
        _logger = logger;
        Id = Interlocked.Increment(ref s_lastId);
        Session = session;
        _identity = identity;
        BatchText = batchText;
        PublishBucket = new TokenBucket(limits.PublishesPerSecond, limits.PublishBurst);
        CommandBucket = new TokenBucket(limits.CommandsPerSecond, limits.CommandBurst);
        JoinBucket = new TokenBucket(limits.JoinsPerSecond, limits.JoinBurst);
        ReadBucket = new TokenBucket(limits.ReadsPerSecond, limits.ReadBurst);
        ReplyBytes = new TokenBucket(limits.ReplyBytesPerSecond, limits.ReplyBurstBytes);
        // FullMode.Wait makes TryWrite return false when full instead of dropping silently; nobody
        // ever waits on it, a full queue is answered by closing the connection as a slow consumer.
        _queue = Channel.CreateBounded<OutboundFrame>(new BoundedChannelOptions(limits.MaxQueuedMessages)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
            AllowSynchronousContinuations = false,
        });
    }

    /// <summary>A process-unique number, used as the registry key and in logs.</summary>
    public long Id { get; }

    /// <summary>The session id announced in <c>welcome</c>.</summary>
    public string Session { get; }

    /// <summary>The user this connection acts as; empty until a deferred connection authenticates.</summary>
    public string User => _identity?.User ?? string.Empty;

    /// <summary>Who the connection is; null until a connection that arrived without a token authenticates.</summary>
    public ConnectionIdentity? Identity => _identity;

    /// <summary>Whether queued text frames may be joined with newlines into one WebSocket frame (protocol mode only).</summary>
    public bool BatchText { get; }

    /// <summary>Messages waiting to be written.</summary>
    public int QueuedMessages => _queue.Reader.Count;

    /// <summary>Bytes waiting to be written.</summary>
    public long QueuedBytes => Interlocked.Read(ref _queuedBytes);

    /// <summary>Rooms this connection has joined. Touched only by the connection's receive loop and its owner's cleanup.</summary>
    internal Dictionary<string, RoomSubscription> Rooms { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Whether the connection is a member of <paramref name="room"/> as its client sees it: joined, and
    /// not told that the membership ended. Read by the receive loop only, like <see cref="Rooms"/>.
    /// </summary>
    internal bool IsMemberOf(string room) => Rooms.TryGetValue(room, out var subscription) && subscription.IsCurrent;

    /// <summary>Cancelled when the connection must stop now (its close timed out, or the socket failed).</summary>
    public CancellationToken Aborted => _lifetime.Token;

    /// <summary>The transport, for its owner's receive loop.</summary>
    internal ITransport Transport => _transport;

    /// <summary>Aborts the connection at once, without a close handshake.</summary>
    public void Abort()
    {
        try
        {
            _lifetime.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already torn down by its owner: nothing left to abort.
        }

        _transport.Abort();
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _lifetime.Dispose();
        _transport.Dispose();
    }
}
