using System.Diagnostics;

namespace Switchboard.Load.Compare.Scenarios;

/// <summary>
/// churn: for <see cref="CompareSettings.Duration"/>, <see cref="CompareSettings.ChurnConcurrency"/>
/// workers each loop connect, send one message to their own room and wait for its echo (the join is
/// proven), close. Reports cycles per second, the server's CPU per cycle and its RSS over the churn:
/// at the start, its peak, after the first tenth and at the end. The growth over the last nine tenths
/// is the leak figure (issue 12 asks for RSS flat over a 10-minute churn): the first tenth is where
/// the heap, the thread pool and the JIT settle, and a leak keeps growing after it.
/// </summary>
internal static class ChurnScenario
{
    private static readonly TimeSpan EchoTimeout = TimeSpan.FromSeconds(5);

    public static async Task RunAsync(ScenarioContext context, TargetRun run)
    {
        var settings = context.Settings;
        await using var server = await context.StartServerAsync();
        var tally = new DeliveryTally();
        var rssStart = server.Rss();
        using var sampling = new CancellationTokenSource();
        var peakRss = ScenarioContext.SamplePeakRssAsync(server, sampling.Token);
        var rssSettled = RssAfterAsync(server, settings.Duration / 10, sampling.Token);
        var cpuBefore = server.CpuTime();
        var clock = Stopwatch.StartNew();
        long cycles = 0;
        long failures = 0;
        await Parallel.ForAsync(0, settings.ChurnConcurrency, context.CancellationToken, async (worker, cancellationToken) =>
        {
            var room = $"churn-{worker}";
            while (clock.Elapsed < settings.Duration)
            {
                try
                {
                    var client = await context.ConnectAsync(server, room, tally);
                    try
                    {
                        await client.SendAsync(WireText.Frame(context.Target.Protocol, DeliveryTally.Now(), 0, settings.PayloadBytes), cancellationToken);
                        await client.FirstMarker.WaitAsync(EchoTimeout, cancellationToken);
                        Interlocked.Increment(ref cycles);
                    }
                    finally
                    {
                        await client.CloseAsync();
                    }
                }
                catch (Exception ex) when (ex is System.Net.WebSockets.WebSocketException or System.Net.Http.HttpRequestException or TimeoutException or IOException
                    || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
                {
                    Interlocked.Increment(ref failures);
                    lock (run)
                    {
                        ScenarioContext.Note(run, $"a churn cycle failed: {ex.Message}");
                    }
                }
            }
        });
        var elapsed = clock.Elapsed;
        var cpu = server.CpuTime() - cpuBefore;
        await sampling.CancelAsync();
        var peak = await peakRss;
        var rssEnd = server.Rss();
        var settled = await rssSettled;

        run.ConnectionsAsked = cycles + failures;
        run.Connections = cycles;
        run.Deliveries = tally.Deliveries;
        run.Add("churn cycles/s", "/s", cycles / elapsed.TotalSeconds, higherIsBetter: true);
        run.Add("server CPU per connect+join+close", "µs", cpu.TotalMicroseconds / Math.Max(1, cycles), higherIsBetter: false);
        run.Add("RSS at churn start", "MiB", rssStart / 1048576.0, higherIsBetter: false);
        run.Add("RSS peak over churn", "MiB", peak / 1048576.0, higherIsBetter: false);
        run.Add("RSS after churn", "MiB", rssEnd / 1048576.0, higherIsBetter: false);
        run.Add("RSS growth after the first tenth", "MiB", (rssEnd - settled) / 1048576.0, higherIsBetter: false);
    }

    private static async Task<long> RssAfterAsync(PeerServer server, TimeSpan after, CancellationToken stop)
    {
        try
        {
            await Task.Delay(after, stop);
        }
        catch (OperationCanceledException)
        {
            // The churn ended first (it was cancelled): the reading is taken now.
        }

        return server.Rss();
    }
}
