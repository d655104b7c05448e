using System.Diagnostics;
using Switchboard.Load.Client;
using Switchboard.Load.Metrics;
using Switchboard.Load.Reporting;

namespace Switchboard.Load.Modes;

/// <summary>
/// Connect mode: every process opens its share of connections as fast as its concurrency allows,
/// all starting at one barrier. A connection counts once its handshake is done and the server's
/// welcome has arrived. Connections stay open until every process is done, so the server holds
/// all of them at once, then close.
/// </summary>
internal static class ConnectMode
{
    public static async Task<RunResult> RunAsync(RunContext context)
    {
        var options = context.Options;
        var counters = new LoadCounters(recordLatency: false);
        var settings = new ConnectionSettings(InitialBufferBytes: 1024, RecordLatency: false, SetupTimeout: TimeSpan.FromSeconds(30));
        var opener = new ConnectionOpener(context.Connector, counters, settings);
        var result = new RunResult { Mode = "connect" };
        var specs = Enumerable.Range(0, options.LocalClients).Select(i => new ConnectionSpec(context.UserUri(publisher: false, i), Room: null)).ToList();

        context.Progress($"connect: opening {options.Clients:N0} connections to {options.Url}, {options.ConnectConcurrency} in flight per process, {options.Processes} process(es)");
        await context.WarmUpAsync(room: null);
        if (!context.Cluster.IsWorker && options.ServerPid is { } pid && ServerMemory.Read(pid) is { } before)
        {
            (result.RssBefore, result.RssAnonBefore) = (before.Rss, before.RssAnon);
        }

        await context.Cluster.BarrierAsync("start", context.Abort);
        var cpu = new CpuMeter(context.Cluster.IsWorker ? null : options.ServerPid);
        cpu.Start();
        result.ConnectStartTimestamp = Stopwatch.GetTimestamp();
        var connections = await context.OpenWithProgressAsync(opener, specs, "connected");
        result.ConnectEndTimestamp = Stopwatch.GetTimestamp();
        cpu.Stop();
        result.ToolCpuSeconds = cpu.SelfSeconds;
        result.ToolGcPauseSeconds = cpu.SelfGcPauseSeconds;
        result.ToolGen2Collections = cpu.SelfGen2Collections;
        result.ServerCpuSeconds = cpu.ServerSeconds;
        try
        {
            await context.Cluster.BarrierAsync("connected", context.Abort);
            if (!context.Cluster.IsWorker && options.ServerPid is { } serverPid && ServerMemory.Read(serverPid) is { } after)
            {
                (result.RssAfter, result.RssAnonAfter) = (after.Rss, after.RssAnon);
            }
        }
        finally
        {
            await ConnectionOpener.CloseAllAsync(connections, options.ConnectConcurrency);
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
}
