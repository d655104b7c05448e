using System.Diagnostics;
using System.Globalization;
using Switchboard.Load.Client;
using Switchboard.Load.Metrics;
using Switchboard.Load.Reporting;

namespace Switchboard.Load.Modes;

/// <summary>
/// Idle mode: after a warm-up round of connections, reads the server's resident memory, opens
/// connections that each join a room and then do nothing, samples the server's memory once a second
/// while holding them, and reports the growth per connection. A GC cannot be forced from outside, so the figure is a plain RSS delta: it
/// includes garbage from the handshakes that the server's GC has not reclaimed (and heap the GC keeps
/// committed), which makes it an upper bound.
/// </summary>
internal static class IdleMode
{
    private static readonly TimeSpan AfterCloseSettle = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan WarmupSettle = TimeSpan.FromSeconds(2);

    public static async Task<RunResult> RunAsync(RunContext context)
    {
        var options = context.Options;
        var pid = options.ServerPid ?? throw new InvalidOperationException("idle mode needs --server-pid");
        var counters = new LoadCounters(recordLatency: false);
        var settings = new ConnectionSettings(InitialBufferBytes: 1024, RecordLatency: false, SetupTimeout: TimeSpan.FromSeconds(30));
        var opener = new ConnectionOpener(context.Connector, counters, settings);
        var result = new RunResult { Mode = "idle" };
        var specs = Enumerable.Range(0, options.LocalClients)
            .Select(i => new ConnectionSpec(context.UserUri(publisher: false, i), RoomFor(options.Room, options.Rooms, options.FirstClientIndex + i)))
            .ToList();

        await context.WarmUpAsync(RoomFor(options.Room, options.Rooms, 0));
        await context.Cluster.BarrierAsync("warm", context.Abort);
        if (!context.Cluster.IsWorker)
        {
            if (options.WarmupConnections > 0)
            {
                // Let the server finish with the warm-up connections (their leave events, their closes).
                await Task.Delay(WarmupSettle, context.Abort);
            }

            var before = ServerMemory.Read(pid) ?? throw new InvalidOperationException($"cannot read /proc/{pid}/status");
            (result.RssBefore, result.RssAnonBefore) = (before.Rss, before.RssAnon);
            context.Progress($"idle: server {pid} VmRSS {Mib(before.Rss)} before; opening {options.Clients:N0} connections, each joining one of {options.Rooms:N0} room(s)");
        }

        await context.Cluster.BarrierAsync("start", context.Abort);
        result.ConnectStartTimestamp = Stopwatch.GetTimestamp();
        var connections = await context.OpenWithProgressAsync(opener, specs, "joined");
        result.ConnectEndTimestamp = Stopwatch.GetTimestamp();
        var open = connections.OfType<BenchConnection>().ToList();
        try
        {
            await context.Cluster.BarrierAsync("joined", context.Abort);
            if (context.Cluster.IsWorker)
            {
                await context.Cluster.WaitForAnnouncementAsync("stop", context.Abort);
            }
            else
            {
                if (options.PrimeBytes > 0)
                {
                    await PrimeAsync(context, specs, connections);
                }

                await SampleAsync(context, pid, open, result);
                context.Cluster.Announce("stop", 0);
            }

            result.Members = open.Count(c => !c.Ended);
        }
        finally
        {
            await ConnectionOpener.CloseAllAsync(connections, options.ConnectConcurrency);
        }

        if (!context.Cluster.IsWorker)
        {
            await Task.Delay(AfterCloseSettle, context.Abort);
            result.RssAfterClose = ServerMemory.Read(pid)?.Rss;
        }

        result.Attempted = specs.Count;
        result.Connected = opener.Opened;
        result.ConnectFailures = opener.Failures;
        result.FailureSamples = [.. opener.FailureSamples];
        result.SetupLatency = opener.SetupLatency.ToData();
        result.Aborted = counters.Aborted;
        result.Closes = counters.ClosesByCode();
        result.Errors = counters.ErrorsByCode();
        result.OtherOps = counters.OtherOps();
        return result;
    }

    /// <summary>Holds the connections for <c>--duration</c>, reading the server's RSS once a second; the last reading counts.</summary>
    private static async Task SampleAsync(RunContext context, int pid, List<BenchConnection> open, RunResult result)
    {
        var samples = (int)Math.Max(1, Math.Round(context.Options.Duration.TotalSeconds));
        for (var second = 1; second <= samples; second++)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), context.Abort);
            var sample = ServerMemory.Read(pid) ?? throw new InvalidOperationException($"server process {pid} is gone");
            result.RssSamples.Add(sample.Rss);
            (result.RssAfter, result.RssAnonAfter) = (sample.Rss, sample.RssAnon);
            context.Progress($"  {second,3} s  server VmRSS {Mib(sample.Rss)}  RssAnon {Mib(sample.RssAnon)}  (this process: {open.Count(c => !c.Ended):N0} open)");
        }
    }

    /// <summary>
    /// One publication of about <c>--prime-bytes</c> to each room, from its first member here, so every
    /// connection has had a message compressed for it: with context takeover the server then keeps
    /// that connection's compressor, and the RSS shows it. Fire and forget per room, then a settle.
    /// </summary>
    private static async Task PrimeAsync(RunContext context, List<ConnectionSpec> specs, IReadOnlyList<BenchConnection?> connections)
    {
        var text = System.Text.Encoding.ASCII.GetString(ChatText.Samples(1, context.Options.PrimeBytes)[0]);
        var rooms = 0;
        foreach (var (spec, connection) in specs.Zip(connections).DistinctBy(pair => pair.First.Room))
        {
            if (connection is { Ended: false })
            {
                var frame = System.Text.Encoding.UTF8.GetBytes($"{{\"op\":\"publish\",\"room\":\"{spec.Room}\",\"data\":{{\"text\":\"{text}\"}}}}");
                await connection.SendAsync(frame, context.Abort);
                rooms++;
            }
        }

        context.Progress($"  primed {rooms:N0} room(s) with one {context.Options.PrimeBytes:N0}-byte publication each; settling");
        await Task.Delay(WarmupSettle, context.Abort);
    }

    private static string RoomFor(string room, int rooms, int index) =>
        rooms == 1 ? room : string.Create(CultureInfo.InvariantCulture, $"{room}-{index % rooms}");

    private static string Mib(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1048576.0:F1} MiB");
}
