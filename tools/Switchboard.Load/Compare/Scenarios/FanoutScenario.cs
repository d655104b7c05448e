using System.Diagnostics;

namespace Switchboard.Load.Compare.Scenarios;

/// <summary>
/// fanout: for each of <see cref="CompareSettings.FanoutSubscribers"/>, a fresh server takes that
/// many subscribers and one publisher in one room. The publisher keeps at most
/// <see cref="CompareSettings.Window"/> publications out, each done when every member (the
/// publisher too) has it: each target's own maximum rate. Reports deliveries per second, the
/// server's CPU per delivery and the latency percentiles.
/// </summary>
internal static class FanoutScenario
{
    // A publication that has not reached every member this long after the previous slot freed is lost,
    // not late: the closed loop keeps only a few publications out.
    private static readonly TimeSpan StallTimeout = TimeSpan.FromSeconds(30);

    public static async Task RunAsync(ScenarioContext context, TargetRun run)
    {
        foreach (var subscribers in context.Settings.FanoutSubscribers)
        {
            await MeasureAsync(context, run, subscribers);
        }
    }

    private static async Task MeasureAsync(ScenarioContext context, TargetRun run, int subscribers)
    {
        var settings = context.Settings;
        var members = subscribers + 1;
        await using var server = await context.StartServerAsync();
        using var slots = new PublicationWindow(settings.Window, members);
        var tally = new DeliveryTally(slots);
        var (clients, failed, error) = await context.ConnectManyAsync(server, members, _ => "fanout", tally);
        var open = clients.OfType<PeerClient>().ToList();
        run.ConnectionsAsked = Math.Max(run.ConnectionsAsked, members);
        run.Connections = Math.Max(run.Connections, open.Count);
        if (failed > 0)
        {
            ScenarioContext.Note(run, $"{failed} of {members} connections failed: {error}");
            await context.CloseAllAsync(open);
            return;
        }

        try
        {
            var publisher = clients[0]!;
            if (!await context.AwaitJoinedAsync(open, [publisher]))
            {
                ScenarioContext.Note(run, $"@{subscribers}: not every subscriber received the probe");
                return;
            }

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

                if (!await slots.WaitForSlotAsync(StallTimeout, context.CancellationToken))
                {
                    ScenarioContext.Note(run, $"@{subscribers}: a publication did not reach every member within {StallTimeout.TotalSeconds:N0} s");
                    break;
                }

                await publisher.SendAsync(WireText.Frame(context.Target.Protocol, DeliveryTally.Now(), sent, settings.PayloadBytes), context.CancellationToken);
                sent++;
            }

            window.Stop(server, tally, sent);
            var expected = sent * members;
            await Drain.UntilAsync(() => tally.Deliveries >= expected, StallTimeout, context.CancellationToken);
            if (tally.Deliveries < expected)
            {
                ScenarioContext.Note(run, $"@{subscribers}: {expected - tally.Deliveries} of {expected} deliveries did not arrive");
            }

            run.Deliveries += tally.Deliveries;
            var deliveries = window.DeliveriesAtEnd - window.DeliveriesAtStart;
            run.Add($"fan-out to {subscribers}: deliveries/s", "/s", deliveries / window.Elapsed.TotalSeconds, higherIsBetter: true);
            run.Add($"fan-out to {subscribers}: server CPU per delivery", "µs", window.ServerCpu.TotalMicroseconds / Math.Max(1, deliveries), higherIsBetter: false);
            run.Add($"fan-out to {subscribers}: p99 latency", "ms", tally.Latency.ValueAtPercentile(99) / 1e6, higherIsBetter: false);
        }
        finally
        {
            await context.CloseAllAsync(open);
        }
    }
}
