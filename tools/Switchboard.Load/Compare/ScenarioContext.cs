using Switchboard.Load.Client;

namespace Switchboard.Load.Compare;

/// <summary>What a scenario needs for one target: fresh servers, connections, the join barrier and the close.</summary>
internal sealed class ScenarioContext(CompareSettings settings, PeerTarget target, WebSocketConnector connector, CancellationToken cancellationToken)
{
    private static readonly TimeSpan JoinTimeout = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan ProbeEvery = TimeSpan.FromSeconds(1);

    public CompareSettings Settings { get; } = settings;

    public PeerTarget Target { get; } = target;

    public CancellationToken CancellationToken { get; } = cancellationToken;

    public Task<PeerServer> StartServerAsync() => PeerServer.StartAsync(Target, Settings.RepoRoot, Settings.ServerCore, CancellationToken);

    public Task<PeerClient> ConnectAsync(PeerServer server, string room, DeliveryTally tally) =>
        PeerClient.ConnectAsync(connector, Target.RoomUri(server.Port, room), Target.Protocol, tally, CancellationToken);

    /// <summary>Opens <paramref name="count"/> clients, <see cref="CompareSettings.ConnectConcurrency"/> at a time; failures are counted, not thrown.</summary>
    public async Task<(PeerClient?[] Clients, int Failed, string? FirstError)> ConnectManyAsync(PeerServer server, int count, Func<int, string> roomOf, DeliveryTally tally)
    {
        var clients = new PeerClient?[count];
        var failed = 0;
        string? firstError = null;
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = Settings.ConnectConcurrency, CancellationToken = CancellationToken }, async (i, _) =>
        {
            try
            {
                clients[i] = await ConnectAsync(server, roomOf(i), tally);
            }
            catch (Exception ex) when (ex is System.Net.WebSockets.WebSocketException or System.Net.Http.HttpRequestException or OperationCanceledException or IOException)
            {
                Interlocked.Increment(ref failed);
                Interlocked.CompareExchange(ref firstError, ex.Message, null);
            }
        });
        return (clients, failed, firstError);
    }

    /// <summary>
    /// Joins are implicit and some servers add a member after the handshake has completed (SignalR
    /// joins its group after answering the handshake), so a probe is sent to each room, again every
    /// second, until every client has received one. False when that did not happen within the timeout.
    /// </summary>
    public async Task<bool> AwaitJoinedAsync(IReadOnlyList<PeerClient> clients, IReadOnlyList<PeerClient> oneMemberPerRoom)
    {
        var probe = WireText.Frame(Target.Protocol, DeliveryTally.Now(), WireText.Probe, Settings.PayloadBytes);
        var all = Task.WhenAll(clients.Select(c => c.FirstMarker));
        var deadline = DateTime.UtcNow + JoinTimeout;
        while (DateTime.UtcNow < deadline)
        {
            // Rooms are probed one after the other: each client sends only from this loop here.
            foreach (var prober in oneMemberPerRoom)
            {
                await prober.SendAsync(probe, CancellationToken);
            }

            try
            {
                await all.WaitAsync(ProbeEvery, CancellationToken);
                return true;
            }
            catch (TimeoutException)
            {
                // Someone has not joined yet: probe again.
            }
        }

        return false;
    }

    /// <summary>Closes every client, <see cref="CompareSettings.ConnectConcurrency"/> at a time; each close is bounded.</summary>
    public async Task CloseAllAsync(IEnumerable<PeerClient?> clients)
    {
        await Parallel.ForEachAsync(clients.OfType<PeerClient>(), new ParallelOptions { MaxDegreeOfParallelism = Settings.ConnectConcurrency }, async (client, _) => await client.CloseAsync());
    }

    /// <summary>Samples the server's RSS every 100 ms until <paramref name="stop"/> is cancelled; returns the peak.</summary>
    public static async Task<long> SamplePeakRssAsync(PeerServer server, CancellationToken stop)
    {
        var peak = server.Rss();
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                peak = Math.Max(peak, server.Rss());
            }
        }
        catch (OperationCanceledException)
        {
            // Sampling ends with the phase it watched.
        }

        return Math.Max(peak, server.Rss());
    }

    /// <summary>Remembers the first few distinct problems of a run, so one cause is not printed ten thousand times.</summary>
    public static void Note(TargetRun run, string problem)
    {
        if (run.Problems.Count < 5 && !run.Problems.Contains(problem))
        {
            run.Problems.Add(problem);
        }
    }
}
