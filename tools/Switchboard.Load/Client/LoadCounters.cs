using System.Collections.Concurrent;
using Switchboard.Load.Metrics;

namespace Switchboard.Load.Client;

/// <summary>
/// Counters shared by every connection of this process. The per-message path touches only
/// <see cref="Delivered"/> (once per frame) and, in latency mode, the histogram.
/// </summary>
internal sealed class LoadCounters
{
    private readonly ConcurrentDictionary<int, long> _closes = new();
    private readonly ConcurrentDictionary<string, long> _errors = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _otherOps = new(StringComparer.Ordinal);
    private long _delivered;
    private long _frames;
    private long _messageBytes;
    private long _otherLines;
    private long _malformed;
    private long _aborted;
    private long _latencyFrom = long.MaxValue;

    public LoadCounters(bool recordLatency)
    {
        Latency = recordLatency ? new LatencyHistogram() : null;
    }

    /// <summary>Publish-to-delivery latency, or null when not measured.</summary>
    public LatencyHistogram? Latency { get; }

    /// <summary>
    /// Only publications sent at or after this <see cref="System.Diagnostics.Stopwatch"/> timestamp
    /// are recorded, so warm-up does not count. Starts at "never".
    /// </summary>
    public long LatencyFrom
    {
        get => Volatile.Read(ref _latencyFrom);
        set => Volatile.Write(ref _latencyFrom, value);
    }

    /// <summary>Room messages received by all members of this process.</summary>
    public long Delivered => Volatile.Read(ref _delivered);

    public long Frames => Volatile.Read(ref _frames);

    /// <summary>Bytes of the messages received (after any inflation), every frame of every kind.</summary>
    public long MessageBytes => Volatile.Read(ref _messageBytes);

    public long OtherLines => Volatile.Read(ref _otherLines);

    public long Malformed => Volatile.Read(ref _malformed);

    /// <summary>Connections that ended without a close frame (reset, EOF).</summary>
    public long Aborted => Volatile.Read(ref _aborted);

    public void AddFrame(long messages, int bytes)
    {
        Interlocked.Increment(ref _frames);
        Interlocked.Add(ref _messageBytes, bytes);
        if (messages != 0)
        {
            Interlocked.Add(ref _delivered, messages);
        }
    }

    /// <summary>Counts a message that is not a delivery, reply or error (presence events, mostly).</summary>
    public void AddOtherLine(string? op)
    {
        Interlocked.Increment(ref _otherLines);
        _otherOps.AddOrUpdate(op ?? "(other room)", 1, static (_, n) => n + 1);
    }

    public void AddMalformed() => Interlocked.Increment(ref _malformed);

    public void AddAborted() => Interlocked.Increment(ref _aborted);

    /// <summary>Counts a close the server started, by its close code.</summary>
    public void AddClose(int code) => _closes.AddOrUpdate(code, 1, static (_, n) => n + 1);

    public void AddError(string code) => _errors.AddOrUpdate(code, 1, static (_, n) => n + 1);

    public Dictionary<string, long> ClosesByCode() =>
        _closes.ToDictionary(p => p.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), p => p.Value, StringComparer.Ordinal);

    public Dictionary<string, long> OtherOps() => new(_otherOps, StringComparer.Ordinal);

    public Dictionary<string, long> ErrorsByCode() => new(_errors, StringComparer.Ordinal);
}
