namespace Switchboard.Load.Metrics;

/// <summary>A <see cref="LatencyHistogram"/> in HdrHistogram's compressed encoding, as sent between processes.</summary>
internal sealed class HistogramData
{
    /// <summary>How many values were recorded (0 means nothing to decode).</summary>
    public long Count { get; init; }

    /// <summary>HdrHistogram's compressed (V2, deflate) encoding; base64 in JSON.</summary>
    public byte[] Encoded { get; init; } = [];

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
