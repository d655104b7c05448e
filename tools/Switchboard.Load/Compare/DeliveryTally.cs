using System.Diagnostics;
using Switchboard.Load.Metrics;

namespace Switchboard.Load.Compare;

/// <summary>
/// What every client of one run received: deliveries (probes are not), the latency of those sent
/// at or after <see cref="RecordFrom"/> in HdrHistogram, and, for a closed-loop fan-out, when each
/// publication has reached every member so the publisher may send another.
/// </summary>
internal sealed class DeliveryTally
{
    private readonly PublicationWindow? _window;
    private long _deliveries;
    private long _recordFrom = long.MaxValue;

    public DeliveryTally(PublicationWindow? window = null) => _window = window;

    public LatencyHistogram Latency { get; } = new();

    /// <summary>Deliveries of real (not probe) messages so far; a window's count is the difference of two reads.</summary>
    public long Deliveries => Volatile.Read(ref _deliveries);

    /// <summary>The <see cref="Stopwatch"/> timestamp from which sent messages have their latency recorded (the end of the warm-up).</summary>
    public long RecordFrom
    {
        get => Volatile.Read(ref _recordFrom);
        set => Volatile.Write(ref _recordFrom, value);
    }

    public void Delivered(long timestamp, long sequence, long now)
    {
        if (sequence < 0)
        {
            return;
        }

        Interlocked.Increment(ref _deliveries);
        _window?.Delivered(sequence);
        if (timestamp >= RecordFrom)
        {
            Latency.RecordTicks(now - timestamp);
        }
    }

    /// <summary>A timestamp for a frame about to be sent, on the clock every delivery is read against.</summary>
    public static long Now() => Stopwatch.GetTimestamp();
}
