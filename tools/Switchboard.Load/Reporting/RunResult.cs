using Switchboard.Load.Metrics;

namespace Switchboard.Load.Reporting;

/// <summary>
/// What one process measured, and after <see cref="Merge"/> what the whole run measured. Plain
/// properties so it travels between processes as JSON. Timestamps are <see cref="System.Diagnostics.Stopwatch"/>
/// ticks, comparable across processes on one machine.
/// </summary>
internal sealed class RunResult
{
    public string Mode { get; set; } = "";

    public int Processes { get; set; } = 1;

    // Connections.
    public long Attempted { get; set; }

    public long Connected { get; set; }

    public long ConnectFailures { get; set; }

    public List<string> FailureSamples { get; set; } = [];

    public long ConnectStartTimestamp { get; set; }

    public long ConnectEndTimestamp { get; set; }

    public HistogramData? SetupLatency { get; set; }

    // Room load (fanout, latency).
    public long Members { get; set; }

    public long Publishers { get; set; }

    public long Published { get; set; }

    public long PublishAcks { get; set; }

    public long PublishErrors { get; set; }

    /// <summary>Publishes neither acknowledged nor refused by the end of the drain timeout.</summary>
    public long PublishUnanswered { get; set; }

    public ulong StartOffset { get; set; }

    public ulong FinalOffset { get; set; }

    /// <summary>Deliveries owed: for each member, the publications after its join up to the final offset.</summary>
    public long Expected { get; set; }

    public long Delivered { get; set; }

    /// <summary>Offsets skipped between two received messages on a live connection.</summary>
    public long Gaps { get; set; }

    /// <summary>Offsets a still-open member never received by the end of the drain.</summary>
    public long TailMissing { get; set; }

    public long OutOfOrder { get; set; }

    /// <summary>Offsets a member did not receive because the server closed it (e.g. 4000, slow consumer).</summary>
    public long UndeliveredAfterClose { get; set; }

    public long MembersBehindAtEnd { get; set; }

    public long WindowDelivered { get; set; }

    public double WindowSeconds { get; set; }

    /// <summary>Bytes received off the sockets during the window: frame headers and payloads as sent (compressed with --deflate).</summary>
    public long WindowWireBytes { get; set; }

    /// <summary>Bytes of the messages received during the window, inflated.</summary>
    public long WindowMessageBytes { get; set; }

    public long FirstPublishTimestamp { get; set; }

    public long LastDeliveryTimestamp { get; set; }

    public HistogramData? Latency { get; set; }

    public long Frames { get; set; }

    public long OtherLines { get; set; }

    public long Malformed { get; set; }

    /// <summary>Connections that dropped without a close frame.</summary>
    public long Aborted { get; set; }

    /// <summary>Closes the server started, by close code.</summary>
    public Dictionary<string, long> Closes { get; set; } = [];

    /// <summary>Messages other than deliveries, replies and errors, by op (presence events, mostly).</summary>
    public Dictionary<string, long> OtherOps { get; set; } = [];

    /// <summary>Error replies, by error code.</summary>
    public Dictionary<string, long> Errors { get; set; } = [];

    // CPU over the measured span (fanout/latency window, connect phase).

    /// <summary>CPU seconds all load-tool processes used over the measured span.</summary>
    public double ToolCpuSeconds { get; set; }

    /// <summary>Seconds the load tool's processes spent in their own GC pauses over the measured span (summed).</summary>
    public double ToolGcPauseSeconds { get; set; }

    public int ToolGen2Collections { get; set; }

    /// <summary>CPU seconds the server used over the measured span (with <c>--server-pid</c>).</summary>
    public double? ServerCpuSeconds { get; set; }

    public double? LoadAverageStart { get; set; }

    public double? LoadAverageEnd { get; set; }

    // Server memory (idle; informative in connect).
    public long? RssBefore { get; set; }

    public long? RssAfter { get; set; }

    public long? RssAnonBefore { get; set; }

    public long? RssAnonAfter { get; set; }

    public long? RssAfterClose { get; set; }

    public List<long> RssSamples { get; set; } = [];

    /// <summary>Adds the workers' results to the coordinator's, which keeps its own run-wide fields.</summary>
    public static RunResult Merge(RunResult coordinator, IReadOnlyList<RunResult> workers)
    {
        if (workers.Count == 0)
        {
            return coordinator;
        }

        var all = workers.Prepend(coordinator).ToList();
        coordinator.Processes = all.Count;
        coordinator.Attempted = all.Sum(r => r.Attempted);
        coordinator.Connected = all.Sum(r => r.Connected);
        coordinator.ConnectFailures = all.Sum(r => r.ConnectFailures);
        coordinator.FailureSamples = [.. all.SelectMany(r => r.FailureSamples).Take(10)];
        coordinator.ConnectStartTimestamp = all.Min(r => r.ConnectStartTimestamp);
        coordinator.ConnectEndTimestamp = all.Max(r => r.ConnectEndTimestamp);
        coordinator.SetupLatency = HistogramData.Merge(all.Select(r => r.SetupLatency));
        coordinator.Members = all.Sum(r => r.Members);
        coordinator.Expected = all.Sum(r => r.Expected);
        coordinator.Delivered = all.Sum(r => r.Delivered);
        coordinator.Gaps = all.Sum(r => r.Gaps);
        coordinator.TailMissing = all.Sum(r => r.TailMissing);
        coordinator.OutOfOrder = all.Sum(r => r.OutOfOrder);
        coordinator.UndeliveredAfterClose = all.Sum(r => r.UndeliveredAfterClose);
        coordinator.MembersBehindAtEnd = all.Sum(r => r.MembersBehindAtEnd);
        coordinator.WindowDelivered = all.Sum(r => r.WindowDelivered);
        coordinator.WindowWireBytes = all.Sum(r => r.WindowWireBytes);
        coordinator.WindowMessageBytes = all.Sum(r => r.WindowMessageBytes);
        coordinator.ToolCpuSeconds = all.Sum(r => r.ToolCpuSeconds);
        coordinator.ToolGcPauseSeconds = all.Sum(r => r.ToolGcPauseSeconds);
        coordinator.ToolGen2Collections = all.Sum(r => r.ToolGen2Collections);
        coordinator.LastDeliveryTimestamp = all.Max(r => r.LastDeliveryTimestamp);
        coordinator.Latency = coordinator.Latency is null ? null : HistogramData.Merge(all.Select(r => r.Latency));
        coordinator.Frames = all.Sum(r => r.Frames);
        coordinator.OtherLines = all.Sum(r => r.OtherLines);
        coordinator.Malformed = all.Sum(r => r.Malformed);
        coordinator.Aborted = all.Sum(r => r.Aborted);
        coordinator.Closes = SumByKey(all.Select(r => r.Closes));
        coordinator.Errors = SumByKey(all.Select(r => r.Errors));
        coordinator.OtherOps = SumByKey(all.Select(r => r.OtherOps));
        return coordinator;
    }

    private static Dictionary<string, long> SumByKey(IEnumerable<Dictionary<string, long>> parts)
    {
        var sum = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (key, value) in parts.SelectMany(p => p))
        {
            sum[key] = sum.GetValueOrDefault(key) + value;
        }

        return sum;
    }
}
