using System.Diagnostics;
using HdrHistogram;
using HdrHistogram.Utilities;

namespace Switchboard.Load.Metrics;

/// <summary>
/// Latencies in nanoseconds, recorded into HdrHistogram from any thread without locks: 3 significant
/// digits (any value is reported within 0.1 % of itself) from 1 ns to one hour; longer waits are
/// recorded as one hour rather than lost.
/// </summary>
internal sealed class LatencyHistogram
{
    /// <summary>The longest latency told apart from the others.</summary>
    public static readonly long HighestTrackable = (long)TimeSpan.FromHours(1).TotalNanoseconds;

    private const int SignificantDigits = 3;

    private static readonly double NanosecondsPerTick = 1e9 / Stopwatch.Frequency;

    public LatencyHistogram()
        : this(new LongConcurrentHistogram(1, HighestTrackable, SignificantDigits))
    {
    }

    private LatencyHistogram(HistogramBase values) => Values = values;

    /// <summary>The recorded values; HdrHistogram's own API reads them.</summary>
    public HistogramBase Values { get; }

    public long Count => Values.TotalCount;

    public long Max => Values.GetMaxValue();

    public double Mean => Count == 0 ? 0 : Values.GetMean();

    /// <summary>Records a <see cref="Stopwatch"/> tick interval.</summary>
    public void RecordTicks(long ticks) => Record((long)(ticks * NanosecondsPerTick));

    public void Record(long nanoseconds) => Values.RecordValue(Math.Clamp(nanoseconds, 0, HighestTrackable));

    /// <summary>The value at or below which <paramref name="percentile"/> % of recorded values fall.</summary>
    public long ValueAtPercentile(double percentile) => Count == 0 ? 0 : Values.GetValueAtPercentile(percentile);

    /// <summary>HdrHistogram's compressed encoding, to send to another process and merge there.</summary>
    public HistogramData ToData()
    {
        var snapshot = Values.Copy();
        var buffer = ByteBuffer.Allocate(snapshot.GetNeededByteBufferCapacity());
        var encoded = new byte[snapshot.EncodeIntoCompressedByteBuffer(buffer)];
        buffer.Position = 0;
        for (var i = 0; i < encoded.Length; i++)
        {
            encoded[i] = buffer.Get();
        }

        return new HistogramData { Count = snapshot.TotalCount, Encoded = encoded };
    }

    /// <summary>Adds another process's values to this histogram.</summary>
    public void Add(HistogramData data)
    {
        if (data.Count > 0)
        {
            Values.Add(HistogramEncoding.DecodeFromCompressedByteBuffer(ByteBuffer.Allocate(data.Encoded), 0));
        }
    }
}
