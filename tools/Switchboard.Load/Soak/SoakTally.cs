using System.Collections.Concurrent;

namespace Switchboard.Load.Soak;

/// <summary>What the well-behaved members saw, counted from every member's receive loop.</summary>
internal sealed class SoakTally
{
    private long _delivered;
    private long _duplicates;
    private long _gaps;
    private long _reconnects;
    private long _recoveredMessages;
    private long _unrecoverable;
    private long _unexpectedCloses;
    private long _hostileClosed;
    private long _hostileStarted;
    private long _unreadable;
    private readonly ConcurrentDictionary<string, long> _closeReasons = new(StringComparer.Ordinal);

    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>Offsets a member received twice (never acceptable).</summary>
    public long Duplicates => Interlocked.Read(ref _duplicates);

    /// <summary>Offsets a member skipped without being told recovery was impossible (never acceptable).</summary>
    public long Gaps => Interlocked.Read(ref _gaps);

    public long Reconnects => Interlocked.Read(ref _reconnects);

    public long RecoveredMessages => Interlocked.Read(ref _recoveredMessages);

    /// <summary>Rejoins the server answered with <c>recovered:false</c> (history no longer retained).</summary>
    public long Unrecoverable => Interlocked.Read(ref _unrecoverable);

    /// <summary>Well-behaved members the server closed (they were reconnected).</summary>
    public long UnexpectedCloses => Interlocked.Read(ref _unexpectedCloses);

    /// <summary>Those closes by how they ended: the close code the server sent, or how the socket failed.</summary>
    public SortedDictionary<string, long> CloseReasons => new(_closeReasons, StringComparer.Ordinal);

    public long HostileStarted => Interlocked.Read(ref _hostileStarted);

    /// <summary>Hostile clients the server closed (rate limits, protocol errors, heartbeat timeouts).</summary>
    public long HostileClosed => Interlocked.Read(ref _hostileClosed);

    /// <summary>Lines a member could not read; the first one's error is kept for the report.</summary>
    public long Unreadable => Interlocked.Read(ref _unreadable);

    public string? FirstUnreadable { get; private set; }

    public void OnUnreadable(string error)
    {
        if (Interlocked.Increment(ref _unreadable) == 1)
        {
            FirstUnreadable = error;
        }
    }

    public void OnDelivered() => Interlocked.Increment(ref _delivered);

    public void OnDuplicate() => Interlocked.Increment(ref _duplicates);

    public void OnGap(long missing) => Interlocked.Add(ref _gaps, missing);

    public void OnReconnect() => Interlocked.Increment(ref _reconnects);

    public void OnRecovered(long messages) => Interlocked.Add(ref _recoveredMessages, messages);

    public void OnUnrecoverable() => Interlocked.Increment(ref _unrecoverable);

    public void OnUnexpectedClose(string reason)
    {
        Interlocked.Increment(ref _unexpectedCloses);
        _closeReasons.AddOrUpdate(reason, 1, static (_, count) => count + 1);
    }

    public void OnHostileStarted() => Interlocked.Increment(ref _hostileStarted);

    public void OnHostileClosed() => Interlocked.Increment(ref _hostileClosed);
}
