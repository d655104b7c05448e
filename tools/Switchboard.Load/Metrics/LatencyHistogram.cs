using System.Diagnostics;
using System.Numerics;

namespace Switchboard.Load.Metrics;

/// <summary>
/// A log-linear histogram of nanosecond values in the manner of HdrHistogram (which the package
/// mirror lacks): exact below 256 ns, then 128 sub-buckets per power of two, so any recorded value
/// is reported within 1/128 (under 0.8 %) of itself, up to about 78 hours. Recording is lock-free
/// and safe from any thread; reading while recording gives a consistent-enough view for progress.
/// </summary>
internal sealed class LatencyHistogram
{
    private const int SubBucketBits = 7;
    private const int SubBucketCount = 1 << SubBucketBits;
    private const int LinearLimit = SubBucketCount * 2;
    private const int MaxShift = 40;

    /// <summary>Number of buckets; bucket i holds values between <see cref="LowestOf"/> and <see cref="HighestOf"/>.</summary>
    public const int BucketCount = LinearLimit + MaxShift * SubBucketCount;

    /// <summary>Values above this are recorded as this.</summary>
    public const long HighestTrackable = ((long)LinearLimit << MaxShift) - 1;

    private static readonly double NanosecondsPerTick = 1e9 / Stopwatch.Frequency;

    private readonly long[] _counts = new long[BucketCount];
    private long _count;
    private long _sum;
    private long _min = long.MaxValue;
    private long _max;

    public long Count => Volatile.Read(ref _count);

    public long Max => Volatile.Read(ref _max);

    public long Min => Count == 0 ? 0 : Volatile.Read(ref _min);

    public double Mean => Count == 0 ? 0 : (double)Volatile.Read(ref _sum) / Count;

    /// <summary>Converts a <see cref="Stopwatch"/> tick interval to nanoseconds.</summary>
    public static long TicksToNanoseconds(long ticks) => (long)(ticks * NanosecondsPerTick);

    public void RecordTicks(long ticks) => Record(TicksToNanoseconds(ticks));

    public void Record(long nanoseconds)
    {
        var value = Math.Clamp(nanoseconds, 0, HighestTrackable);
        Interlocked.Increment(ref _counts[IndexOf(value)]);
        Interlocked.Increment(ref _count);
        Interlocked.Add(ref _sum, value);
        UpdateMax(value);
        UpdateMin(value);
    }

    /// <summary>The value at or below which <paramref name="percentile"/> % of recorded values fall.</summary>
    public long ValueAtPercentile(double percentile)
    {
        var count = Count;
        if (count == 0)
        {
            return 0;
        }

        var target = Math.Max(1, (long)Math.Ceiling(percentile / 100 * count));
        long seen = 0;
        for (var i = 0; i < BucketCount; i++)
        {
            seen += Volatile.Read(ref _counts[i]);
            if (seen >= target)
            {
                // The bucket's highest value, as HdrHistogram reports it, but never past the true max.
                return Math.Min(HighestOf(i), Max);
            }
        }

        return Max;
    }

    /// <summary>A copy of the non-empty buckets, to print, merge or send to another process.</summary>
    public HistogramData ToData()
    {
        var indexes = new List<int>();
        var counts = new List<long>();
        for (var i = 0; i < BucketCount; i++)
        {
            var c = Volatile.Read(ref _counts[i]);
            if (c != 0)
            {
                indexes.Add(i);
                counts.Add(c);
            }
        }

        return new HistogramData
        {
            Indexes = [.. indexes],
            Counts = [.. counts],
            Count = Count,
            Sum = Volatile.Read(ref _sum),
            Min = Min,
            Max = Max,
        };
    }

    /// <summary>Adds another histogram's buckets to this one.</summary>
    public void Add(HistogramData data)
    {
        if (data.Count == 0)
        {
            return;
        }

        for (var i = 0; i < data.Indexes.Length; i++)
        {
            Interlocked.Add(ref _counts[data.Indexes[i]], data.Counts[i]);
        }

        Interlocked.Add(ref _count, data.Count);
        Interlocked.Add(ref _sum, data.Sum);
        UpdateMax(data.Max);
        UpdateMin(data.Min);
    }

    internal static int IndexOf(long value)
    {
        if (value < LinearLimit)
        {
            return (int)value;
        }

        var magnitude = 63 - BitOperations.LeadingZeroCount((ulong)value);
        var shift = magnitude - SubBucketBits;
        var sub = (int)(value >> shift);
        return LinearLimit + (shift - 1) * SubBucketCount + (sub - SubBucketCount);
    }

    internal static long LowestOf(int index)
    {
        if (index < LinearLimit)
        {
            return index;
        }

        var (shift, sub) = Decompose(index);
        return (long)sub << shift;
    }

    internal static long HighestOf(int index)
    {
        if (index < LinearLimit)
        {
            return index;
        }

        var (shift, sub) = Decompose(index);
        return ((long)(sub + 1) << shift) - 1;
    }

    private static (int Shift, int Sub) Decompose(int index)
    {
        var offset = index - LinearLimit;
        return (offset / SubBucketCount + 1, offset % SubBucketCount + SubBucketCount);
    }

    private void UpdateMax(long value)
    {
        var current = Volatile.Read(ref _max);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref _max, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    private void UpdateMin(long value)
    {
        var current = Volatile.Read(ref _min);
        while (value < current)
        {
            var seen = Interlocked.CompareExchange(ref _min, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
