using System.Diagnostics;

namespace Switchboard.Load.Compare.Scenarios;

/// <summary>
/// small-rooms: <see cref="CompareSettings.SmallRoomsClients"/> clients in rooms of
/// <see cref="CompareSettings.RoomSize"/>; one member of each room publishes, in turn over the rooms,
/// so that the rooms together take <see cref="CompareSettings.SmallRoomsDeliveryRate"/> deliveries
/// per second. Reports the rate reached, the server's CPU per delivery and the latency percentiles.
/// </summary>
internal static class SmallRoomsScenario
{
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(10);

    public static async Task RunAsync(ScenarioContext context, TargetRun run)
    {
        var settings = context.Settings;
        var roomCount = Math.Max(1, settings.SmallRoomsClients / settings.RoomSize);
        var count = roomCount * settings.RoomSize;
        await using var server = await context.StartServerAsync();
        var tally = new DeliveryTally();
        var (clients, failed, error) = await context.ConnectManyAsync(server, count, i => $"small-{i / settings.RoomSize}", tally);
        var open = clients.OfType<PeerClient>().ToList();
        run.ConnectionsAsked = count;
        run.Connections = open.Count;
        if (failed > 0)
        {
            ScenarioContext.Note(run, $"{failed} connections failed: {error}");
            await context.CloseAllAsync(open);
            return;
        }

        try
        {
            var publishers = Enumerable.Range(0, roomCount).Select(r => clients[r * settings.RoomSize]!).ToList();
            if (!await context.AwaitJoinedAsync(open, publishers))
            {
                ScenarioContext.Note(run, "not every member received its room's probe");
                return;
            }

            var window = await PublishAsync(context, server, tally, publishers);
            var expected = window.Sent * settings.RoomSize;
            await Drain.UntilAsync(() => tally.Deliveries >= expected, DrainTimeout, context.CancellationToken);
            if (tally.Deliveries < expected)
            {
                ScenarioContext.Note(run, $"{expected - tally.Deliveries} of {expected} deliveries did not arrive within {DrainTimeout.TotalSeconds:N0} s");
            }

            run.Deliveries = tally.Deliveries;
            var deliveries = window.DeliveriesAtEnd - window.DeliveriesAtStart;
            run.Add($"rooms of {settings.RoomSize}: deliveries/s (asked {settings.SmallRoomsDeliveryRate:N0})", "/s", deliveries / window.Elapsed.TotalSeconds, higherIsBetter: true);
            run.Add($"rooms of {settings.RoomSize}: server CPU per delivery", "µs", window.ServerCpu.TotalMicroseconds / Math.Max(1, deliveries), higherIsBetter: false);
            run.Add($"rooms of {settings.RoomSize}: p50 latency", "ms", tally.Latency.ValueAtPercentile(50) / 1e6, higherIsBetter: false);
            run.Add($"rooms of {settings.RoomSize}: p99 latency", "ms", tally.Latency.ValueAtPercentile(99) / 1e6, higherIsBetter: false);
        }
        finally
        {
            await context.CloseAllAsync(open);
        }
    }

    private static async Task<MeasuredWindow> PublishAsync(ScenarioContext context, PeerServer server, DeliveryTally tally, List<PeerClient> publishers)
    {
        var settings = context.Settings;
        var publicationsPerSecond = settings.SmallRoomsDeliveryRate / settings.RoomSize;
        var warmup = MeasuredWindow.WarmupFor(settings.Duration);
        var window = new MeasuredWindow();
        var clock = Stopwatch.StartNew();
        long sent = 0;
        while (clock.Elapsed < warmup + settings.Duration)
        {
            if (!window.Started && clock.Elapsed >= warmup)
            {
                window.Start(server, tally);
            }

            // Sends run from this one loop, so no publisher ever has two sends in flight.
            var due = (long)(clock.Elapsed.TotalSeconds * publicationsPerSecond);
            while (sent < due)
            {
                var publisher = publishers[(int)(sent % publishers.Count)];
                await publisher.SendAsync(WireText.Frame(context.Target.Protocol, DeliveryTally.Now(), sent, settings.PayloadBytes), context.CancellationToken);
                sent++;
            }

            // The pace is kept by the due count above; this wait only yields the core for about a millisecond.
            await Task.Delay(1, context.CancellationToken);
        }

        window.Stop(server, tally, sent);
        return window;
    }
}
