using System.Diagnostics;
using Switchboard.Load.Cli;
using Switchboard.Load.Client;
using Switchboard.Load.Reporting;

namespace Switchboard.Load.Modes;

/// <summary>
/// Fan-out and latency modes: every connection joins one room, publishers publish to it, and every
/// member counts what it receives and checks that offsets arrive consecutive and in order.
/// <list type="number">
/// <item>connect and join all members (every process), then meet at a barrier;</item>
/// <item>the coordinator publishes through warm-up and the measured window, marking both ends
/// for every process;</item>
/// <item>publishing stops; the final offset (from the publish acknowledgements) is announced and
/// every member must reach it within the drain timeout;</item>
/// <item>whatever a member did not receive is counted as a gap, a missing tail, or undelivered
/// after the server closed it.</item>
/// </list>
/// </summary>
internal static class RoomLoadMode
{
    /// <summary>
    /// A whole default server batch (<c>Limits:MaxBatchBytes</c>, 32 KiB) plus room, so buffers do
    /// not grow (and allocate) in the middle of a measurement.
    /// </summary>
    private const int InitialBufferBytes = 36 * 1024;

    public static async Task<RunResult> RunAsync(RunContext context)
    {
        var options = context.Options;
        var latencyMode = options.Mode == LoadMode.Latency;
        var counters = new LoadCounters(recordLatency: latencyMode);
        var settings = new ConnectionSettings(InitialBufferBytes: InitialBufferBytes, RecordLatency: latencyMode, SetupTimeout: TimeSpan.FromSeconds(30));
        var opener = new ConnectionOpener(context.Connector, counters, settings);
        var window = new WindowMarks(context.Cluster.IsWorker ? null : options.ServerPid, context.Connector.Received);
        var result = new RunResult { Mode = options.Mode.ToString().ToLowerInvariant() };

        if (context.Cluster.IsWorker)
        {
            context.Cluster.OnAnnouncement("window-start", ts => window.MarkStart(ts, counters));
            context.Cluster.OnAnnouncement("window-end", ts => window.MarkEnd(ts, counters));
        }

        await context.Cluster.BarrierAsync("start", context.Abort);
        var specs = new List<ConnectionSpec>();
        for (var i = 0; i < options.LocalClients; i++)
        {
            specs.Add(new ConnectionSpec(context.UserUri(publisher: false, i), options.Room));
        }

        var publisherCount = context.Cluster.IsWorker ? 0 : options.Publishers;
        for (var i = 0; i < publisherCount; i++)
        {
            specs.Add(new ConnectionSpec(context.UserUri(publisher: true, i), options.Room));
        }

        context.Progress($"{options.Mode.ToString().ToLowerInvariant()}: opening {specs.Count:N0} connections to {options.Url} (room '{options.Room}')");
        result.ConnectStartTimestamp = Stopwatch.GetTimestamp();
        var connections = await context.OpenWithProgressAsync(opener, specs, "joined");
        result.ConnectEndTimestamp = Stopwatch.GetTimestamp();
        var members = connections.OfType<BenchConnection>().ToList();
        context.Progress($"  {members.Count:N0} members joined in {RunContext.Seconds(result.ConnectStartTimestamp, result.ConnectEndTimestamp):F1} s, {opener.Failures:N0} failed");

        try
        {
            await context.Cluster.BarrierAsync("joined", context.Abort);
            ulong finalOffset;
            if (context.Cluster.IsWorker)
            {
                finalOffset = (ulong)await context.Cluster.WaitForAnnouncementAsync("stop", context.Abort);
            }
            else
            {
                var publishers = connections.Skip(options.LocalClients).OfType<BenchConnection>()
                    .Select(c => new Publisher(c, new PublishFrameWriter(options.Room, options.PayloadBytes, options.ChatPayload)))
                    .ToList();
                finalOffset = await PublishAsync(context, publishers, members, counters, window, result);
                context.Cluster.Announce("stop", (long)finalOffset);
            }

            await DrainAsync(context, members, finalOffset);
            Tally(result, members, finalOffset);
        }
        finally
        {
            await ConnectionOpener.CloseAllAsync(connections, options.ConnectConcurrency);
        }

        result.Attempted = specs.Count;
        result.Connected = members.Count;
        result.ConnectFailures = opener.Failures;
        result.FailureSamples = [.. opener.FailureSamples];
        result.SetupLatency = opener.SetupLatency.ToData();
        result.WindowDelivered = window.Delivered;
        result.WindowSeconds = window.Seconds;
        result.WindowWireBytes = window.WireBytes;
        result.WindowMessageBytes = window.MessageBytes;
        result.ToolCpuSeconds = window.Cpu.SelfSeconds;
        result.ToolGcPauseSeconds = window.Cpu.SelfGcPauseSeconds;
        result.ToolGen2Collections = window.Cpu.SelfGen2Collections;
        result.ServerCpuSeconds = window.Cpu.ServerSeconds;
        result.Latency = counters.Latency?.ToData();
        result.Frames = counters.Frames;
        result.OtherLines = counters.OtherLines;
        result.Malformed = counters.Malformed;
        result.Aborted = counters.Aborted;
        result.Closes = counters.ClosesByCode();
        result.Errors = counters.ErrorsByCode();
        result.OtherOps = counters.OtherOps();
        return result;
    }

    /// <summary>Coordinator: runs the publishers through warm-up and the window; returns the room's final offset.</summary>
    private static async Task<ulong> PublishAsync(
        RunContext context,
        List<Publisher> publishers,
        List<BenchConnection> members,
        LoadCounters counters,
        WindowMarks window,
        RunResult result)
    {
        var options = context.Options;
        result.Publishers = publishers.Count;
        result.StartOffset = members.Count == 0 ? 0 : members.Min(m => m.JoinOffset);
        if (publishers.Count == 0)
        {
            context.Progress("  no publisher connected: nothing to measure");
            return result.StartOffset;
        }

        var flow = new FlowControl(options.Window, members.Count, counters);
        var ratePerPublisher = options.Rate / publishers.Count;
        var pacing = options.Rate > 0 ? $"{options.Rate:N0} publications/s" : $"closed loop, window {options.Window:N0}";
        context.Progress($"  publishing with {publishers.Count} publisher(s), {pacing}, {options.PayloadBytes} B data: {options.Warmup.TotalSeconds:N0} s warm-up + {options.Duration.TotalSeconds:N0} s measured");

        using var stopPublishing = CancellationTokenSource.CreateLinkedTokenSource(context.Abort);
        using var stopTicking = CancellationTokenSource.CreateLinkedTokenSource(context.Abort);
        result.FirstPublishTimestamp = Stopwatch.GetTimestamp();
        var tasks = publishers.Select((p, i) => p.RunAsync(ratePerPublisher, (double)i / publishers.Count, flow, stopPublishing.Token, context.Abort)).ToArray();
        var ticker = context.TickAsync(new ProgressLine(publishers, counters, members).Next, stopTicking.Token);
        long stoppedAt;
        try
        {
            await Task.Delay(options.Warmup, context.Abort);
            var start = Stopwatch.GetTimestamp();
            window.MarkStart(start, counters);
            context.Cluster.Announce("window-start", start);
            await Task.Delay(options.Duration, context.Abort);
        }
        finally
        {
            await stopPublishing.CancelAsync();
            await Task.WhenAll(tasks);
            stoppedAt = Stopwatch.GetTimestamp();
            window.MarkEnd(stoppedAt, counters);
            context.Cluster.Announce("window-end", stoppedAt);
            await stopTicking.CancelAsync();
            await ticker;
        }

        foreach (var failure in publishers.Select(p => p.Failure).OfType<string>())
        {
            context.Progress($"  a publisher stopped early: {failure}");
        }

        // Every publish carries an id; once all are answered the highest acknowledged offset is the
        // room's last. Waiting for the answers shares the drain timeout: a slow server may still be
        // fanning out the backlog, which is what the drain is for.
        var sent = publishers.Sum(p => p.Sent);
        var ackDeadline = Stopwatch.GetTimestamp() + (long)(options.DrainTimeout.TotalSeconds * Stopwatch.Frequency);
        while (Answered(publishers) < sent && Stopwatch.GetTimestamp() < ackDeadline)
        {
            await Task.Delay(10, context.Abort);
        }

        result.Published = sent;
        result.PublishAcks = publishers.Sum(p => p.Connection.PublishAcks);
        result.PublishErrors = publishers.Sum(p => p.Connection.PublishErrors);
        result.PublishUnanswered = sent - result.PublishAcks - result.PublishErrors;
        var acked = publishers.Max(p => p.Connection.HighestAckedOffset);

        // Without every answer, assume each unanswered publish took an offset: the drain then waits
        // for it, and the verdict reports the unanswered ones either way.
        var finalOffset = result.PublishUnanswered == 0 ? acked : Math.Max(acked, result.StartOffset + (ulong)(sent - result.PublishErrors));
        if (result.PublishUnanswered > 0)
        {
            context.Progress($"  {result.PublishUnanswered:N0} of {sent:N0} publishes were not answered within {options.DrainTimeout.TotalSeconds:N0} s");
        }

        if (options.Rate > 0)
        {
            // Sends are paced by a ~1 ms timer on a busy core: a few ms late now and then is jitter
            // (each frame carries its real send time); falling short of the count is not.
            var scheduled = options.Rate * RunContext.Seconds(result.FirstPublishTimestamp, stoppedAt);
            var maxLagMs = publishers.Max(p => p.MaxLagTicks) * 1000.0 / Stopwatch.Frequency;
            var shortfall = sent < 0.98 * scheduled - publishers.Count ? $"; only {sent:N0} of ~{scheduled:N0} scheduled were sent: the rate was NOT sustained" : "";
            context.Progress($"  publishers were at most {maxLagMs:F1} ms late on their schedule{shortfall}");
        }

        return finalOffset;
    }

    private static long Answered(List<Publisher> publishers) => publishers.Sum(p => p.Connection.PublishAcks + p.Connection.PublishErrors);

    /// <summary>Waits until every member still open has received <paramref name="finalOffset"/>, or the drain timeout.</summary>
    private static async Task DrainAsync(RunContext context, List<BenchConnection> members, ulong finalOffset)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(context.Options.DrainTimeout.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline && !members.TrueForAll(m => m.Ended || m.HighestOffset >= finalOffset))
        {
            await Task.Delay(20, context.Abort);
        }
    }

    private static void Tally(RunResult result, List<BenchConnection> members, ulong finalOffset)
    {
        result.FinalOffset = finalOffset;
        result.Members = members.Count;
        foreach (var member in members)
        {
            var owed = finalOffset > member.JoinOffset ? (long)(finalOffset - member.JoinOffset) : 0;
            var missing = finalOffset > member.HighestOffset ? (long)(finalOffset - member.HighestOffset) : 0;
            result.Expected += owed;
            result.Delivered += member.Received;
            result.Gaps += member.Gaps;
            result.OutOfOrder += member.OutOfOrder;
            result.LastDeliveryTimestamp = Math.Max(result.LastDeliveryTimestamp, member.LastDeliveryTimestamp);
            if (member.Ended)
            {
                result.UndeliveredAfterClose += missing;
            }
            else if (missing > 0)
            {
                result.TailMissing += missing;
                result.MembersBehindAtEnd++;
            }
        }
    }

    /// <summary>Builds the once-a-second progress line from the change since the previous one.</summary>
    private sealed class ProgressLine(List<Publisher> publishers, LoadCounters counters, List<BenchConnection> members)
    {
        private long _lastTimestamp = Stopwatch.GetTimestamp();
        private long _lastSent;
        private long _lastDelivered;
        private int _second;

        public string Next()
        {
            var now = Stopwatch.GetTimestamp();
            var sent = publishers.Sum(p => p.Sent);
            var delivered = counters.Delivered;
            var seconds = RunContext.Seconds(_lastTimestamp, now);
            var line = $"  {++_second,3} s  published {(sent - _lastSent) / seconds,9:N0}/s  delivered {(delivered - _lastDelivered) / seconds,12:N0}/s  "
                + $"members open {members.Count(m => !m.Ended):N0}/{members.Count:N0}";
            if (counters.Latency is { Count: > 0 } latency)
            {
                line += $"  p99 so far {latency.ValueAtPercentile(99) / 1e6:F2} ms";
            }

            (_lastTimestamp, _lastSent, _lastDelivered) = (now, sent, delivered);
            return line;
        }
    }
}
