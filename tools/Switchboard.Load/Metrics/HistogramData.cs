namespace Switchboard.Load.Metrics;

/// <summary>The non-empty buckets of a <see cref="LatencyHistogram"/>, as sent between processes.</summary>
internal sealed class HistogramData
{
    public int[] Indexes { get; init; } = [];

    public long[] Counts { get; init; } = [];

    public long Count { get; init; }

    public long Sum { get; init; }

    public long Min { get; init; }

    public long Max { get; init; }

    public static HistogramData Merge(IEnumerable<HistogramData?> parts)
    {
        var histogram = new LatencyHistogram();
        foreach (var part in parts)
        {
            if (part is not null)
            {
                histogram.Add(part);
            }
        }

        return histogram.ToData();
    }

    public LatencyHistogram ToHistogram()
    {
        var histogram = new LatencyHistogram();
        histogram.Add(this);
        return histogram;
    }
}
