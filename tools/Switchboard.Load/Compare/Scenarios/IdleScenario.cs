namespace Switchboard.Load.Compare.Scenarios;

/// <summary>
/// idle: the server's resident memory per idle connection. For each of
/// <see cref="CompareSettings.IdleConnections"/>, a fresh server takes that many connections all
/// joined to one room; then, for the first count, a fresh server takes that many connections each
/// in a room of its own, and the difference is the cost of a room with one member. Every client
/// proves its join by receiving a probe; RSS is read after <see cref="CompareSettings.IdleSettle"/>.
/// </summary>
internal static class IdleScenario
{
    public static async Task RunAsync(ScenarioContext context, TargetRun run)
    {
        double? sharedBytesPerConnection = null;
        foreach (var count in context.Settings.IdleConnections)
        {
            var bytes = await MeasureAsync(context, run, count, soloRooms: false);
            sharedBytesPerConnection ??= bytes;
            run.Add($"idle memory per connection, one room @{count}", "KiB", bytes / 1024, higherIsBetter: false);
        }

        var soloCount = context.Settings.IdleConnections[0];
        var solo = await MeasureAsync(context, run, soloCount, soloRooms: true);
        run.Add($"idle memory per room with one member @{soloCount}", "KiB", (solo - sharedBytesPerConnection!.Value) / 1024, higherIsBetter: false);
    }

    /// <summary>RSS growth per connection, in bytes, with <paramref name="count"/> clients idle.</summary>
    private static async Task<double> MeasureAsync(ScenarioContext context, TargetRun run, int count, bool soloRooms)
    {
        await using var server = await context.StartServerAsync();
        var tally = new DeliveryTally();
        var rssBefore = server.Rss();
        var (clients, failed, error) = await context.ConnectManyAsync(server, count, i => soloRooms ? $"solo-{i}" : "idle", tally);
        var open = clients.OfType<PeerClient>().ToList();
        run.ConnectionsAsked = Math.Max(run.ConnectionsAsked, count);
        run.Connections = Math.Max(run.Connections, open.Count);
        if (failed > 0)
        {
            ScenarioContext.Note(run, $"{failed} of {count} connections failed: {error}");
        }

        try
        {
            if (!await context.AwaitJoinedAsync(open, soloRooms ? open : open.Take(1).ToList()))
            {
                ScenarioContext.Note(run, $"only {open.Count(c => c.Markers > 0)} of {open.Count} idle connections received a probe");
            }

            run.Deliveries += open.Sum(c => c.Markers);

            // Holding still is the measurement here: the server's buffers and collector settle.
            await Task.Delay(context.Settings.IdleSettle, context.CancellationToken);
            return (server.Rss() - rssBefore) / (double)Math.Max(1, open.Count);
        }
        finally
        {
            await context.CloseAllAsync(open);
        }
    }
}
