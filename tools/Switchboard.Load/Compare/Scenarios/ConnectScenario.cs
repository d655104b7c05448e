using System.Diagnostics;

namespace Switchboard.Load.Compare.Scenarios;

/// <summary>
/// connect: opens <see cref="CompareSettings.ConnectClients"/> connections into 100 rooms, with
/// <see cref="CompareSettings.ConnectConcurrency"/> attempts in flight; a connection counts when its
/// handshake (SignalR's included) is done. Then a probe proves every one joined, and all close.
/// </summary>
internal static class ConnectScenario
{
    private const int Rooms = 100;

    public static async Task RunAsync(ScenarioContext context, TargetRun run)
    {
        var count = context.Settings.ConnectClients;
        await using var server = await context.StartServerAsync();
        var tally = new DeliveryTally();
        await WarmUpAsync(context, server, tally);

        var rssBefore = server.Rss();
        var cpuBefore = server.CpuTime();
        var clock = Stopwatch.StartNew();
        var (clients, failed, error) = await context.ConnectManyAsync(server, count, i => $"connect-{i % Rooms}", tally);
        var elapsed = clock.Elapsed;
        var cpu = server.CpuTime() - cpuBefore;
        var open = clients.OfType<PeerClient>().ToList();
        run.ConnectionsAsked = count;
        run.Connections = open.Count;
        if (failed > 0)
        {
            ScenarioContext.Note(run, $"{failed} connections failed: {error}");
        }

        try
        {
            var probers = Enumerable.Range(0, Rooms)
                .Select(room => Enumerable.Range(0, count).Where(i => i % Rooms == room).Select(i => clients[i]).FirstOrDefault(c => c is not null))
                .OfType<PeerClient>()
                .ToList();
            if (!await context.AwaitJoinedAsync(open, probers))
            {
                ScenarioContext.Note(run, $"only {open.Count(c => c.Markers > 0)} of {open.Count} connections received a probe of their room");
            }

            run.Deliveries = open.Sum(c => c.Markers);
            run.Add("connects/s", "/s", open.Count / elapsed.TotalSeconds, higherIsBetter: true);
            run.Add("server CPU per connect", "µs", cpu.TotalMicroseconds / Math.Max(1, open.Count), higherIsBetter: false);
            run.Add($"RSS growth per open connection @{count}", "KiB", (server.Rss() - rssBefore) / 1024.0 / Math.Max(1, open.Count), higherIsBetter: false);
        }
        finally
        {
            await context.CloseAllAsync(open);
        }
    }

    /// <summary>Opens and closes a few connections first, so the JIT and the pools are not what is measured.</summary>
    private static async Task WarmUpAsync(ScenarioContext context, PeerServer server, DeliveryTally tally)
    {
        var (warm, _, _) = await context.ConnectManyAsync(server, Math.Min(500, Math.Max(10, context.Settings.ConnectClients / 10)), i => $"warm-{i % Rooms}", tally);
        await context.CloseAllAsync(warm);
    }
}
