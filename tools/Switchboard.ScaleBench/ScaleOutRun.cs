using System.Diagnostics;
using System.Globalization;

namespace Switchboard.ScaleBench;

/// <summary>
/// N node processes of the shipped host on one Redis, behind nginx running the shipped configuration;
/// every client connects through nginx, so members of one room land on every node and each
/// publication crosses Redis to each of them. Two measures per node count:
/// <list type="number">
/// <item>publications per second with many publishers (each closed loop: reply before the next), to
/// rooms without members, so the figure is the publish path through Redis alone;</item>
/// <item>fan-out: members in rooms of a given size, publications offered open loop at fixed rates; what
/// the members received per second, whether everything arrived, and how many were cut off as slow.</item>
/// </list>
/// Each process's CPU time (nodes, nginx with its worker, Redis) is read before and after every step:
/// on a machine with fewer cores than processes the throughput cannot scale with nodes, and the CPU a
/// node spends per delivery is the figure that carries over to a machine where it can.
/// </summary>
internal static class ScaleOutRun
{
    private const string FanRoom = "fan";

    public static async Task RunAsync(ScaleOutSettings settings, string serverDll, LocalRedisHandle redis, int nodeCount, Action<string> print, CancellationToken cancellationToken)
    {
        var nodes = new List<NodeProcess>();
        try
        {
            foreach (var _ in Enumerable.Range(0, nodeCount))
            {
                nodes.Add(await NodeProcess.StartAsync(serverDll, redis.Configuration, cancellationToken));
            }

            await using var nginx = await NginxFront.StartAsync(nodes.Select(n => n.BaseUri), cancellationToken);
            var cpu = new CpuMeter(nodes, nginx, redis.Pid);
            await PublishersAsync(settings, nodeCount, nginx, cpu, print, cancellationToken);
            await FanOutAsync(settings, nodeCount, nginx, cpu, print, cancellationToken);
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    private static async Task PublishersAsync(ScaleOutSettings settings, int nodeCount, NginxFront nginx, CpuMeter cpu, Action<string> print, CancellationToken cancellationToken)
    {
        var publishers = await ConnectAsync(nginx, "publisher", settings.Publishers, cancellationToken);
        try
        {
            // A publisher must be a member of the room it publishes to; each has a room of its own.
            for (var j = 0; j < publishers.Length; j++)
            {
                await publishers[j].RequestAsync($$"""{"op":"join","room":"solo{{j}}","id":1000}""", 1000, cancellationToken);
            }

            var latencies = new List<double>[settings.Publishers];
            var before = cpu.Read();
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(publishers.Select((publisher, j) => Task.Run(async () =>
            {
                var own = latencies[j] = [];
                for (var id = 2; clock.Elapsed < settings.Duration; id++)
                {
                    var sent = Stopwatch.GetTimestamp();
                    await publisher.RequestAsync($$$"""{"op":"publish","room":"solo{{{j}}}","data":{"t":{{{sent}}}},"id":{{{id}}}}""", id, cancellationToken);
                    own.Add(Stopwatch.GetElapsedTime(sent).TotalMilliseconds);
                }
            }, cancellationToken)));
            var seconds = clock.Elapsed.TotalSeconds;
            var spent = cpu.Read() - before;
            var all = latencies.SelectMany(l => l).Order().ToArray();
            print(string.Create(CultureInfo.InvariantCulture,
                $"| {nodeCount} | {settings.Publishers} | {all.Length / seconds:F0} | {all[all.Length / 2]:F2} | {all[(int)(all.Length * 0.99)]:F2} | {spent.Describe(seconds)} | {spent.Nodes * 1e6 / all.Length:F0} | {spent.Redis * 1e6 / all.Length:F0} |"));
        }
        finally
        {
            foreach (var publisher in publishers)
            {
                await publisher.DisposeAsync();
            }
        }
    }

    private static async Task FanOutAsync(ScaleOutSettings settings, int nodeCount, NginxFront nginx, CpuMeter cpu, Action<string> print, CancellationToken cancellationToken)
    {
        var rooms = Math.Max(1, settings.Members / settings.RoomSize);
        using var members = MembersProcess.Start(nginx.Ws, FanRoom, rooms * settings.RoomSize, rooms);
        var ready = await members.StandardOutput.ReadLineAsync(cancellationToken).AsTask().WaitAsync(TimeSpan.FromMinutes(6), cancellationToken);
        if (ready != "ready")
        {
            throw new InvalidOperationException("the members process failed: " + ready + await members.StandardError.ReadToEndAsync(cancellationToken));
        }

        var publishers = await ConnectAsync(nginx, "fan-publisher", Math.Min(settings.Publishers, rooms), cancellationToken);
        try
        {
            // Publisher j publishes to (and so is a member of) the rooms r with r mod publishers = j; its
            // own copy of each publication is not counted as a delivery.
            for (var room = 0; room < rooms; room++)
            {
                var id = 1000 + room;
                await publishers[room % publishers.Length].RequestAsync($$"""{"op":"join","room":"{{FanRoom}}{{room}}","id":{{id}}}""", id, cancellationToken);
            }

            // Two seconds at the lowest rate first, not reported: the nodes' delivery paths are compiled
            // (JIT) and their pools warmed before anything is measured.
            var (coldCount, _) = await MembersProcess.CountAsync(members, cancellationToken);
            var warmup = await OfferAsync(publishers, rooms, settings.Rates[0], TimeSpan.FromSeconds(2), cancellationToken);
            await DrainAsync(members, coldCount + (warmup * settings.RoomSize), Stopwatch.StartNew(), cancellationToken);
            foreach (var rate in settings.Rates)
            {
                var (receivedBefore, _) = await MembersProcess.CountAsync(members, cancellationToken);
                var before = cpu.Read();
                var clock = Stopwatch.StartNew();
                var sent = await OfferAsync(publishers, rooms, rate, settings.Duration, cancellationToken);
                var (received, closed, lastChange) = await DrainAsync(members, receivedBefore + (sent * settings.RoomSize), clock, cancellationToken);
                var delivered = received - receivedBefore;
                var spent = cpu.Read() - before;
                var expected = sent * settings.RoomSize;
                print(string.Create(CultureInfo.InvariantCulture,
                    $"| {nodeCount} | {rooms} × {settings.RoomSize} | {rate} | {rate * settings.RoomSize} | {delivered / lastChange.TotalSeconds:F0} | {(delivered == expected ? "all" : $"{delivered} of {expected}")} | {closed} | {spent.Describe(lastChange.TotalSeconds)} | {spent.Nodes * 1e6 / Math.Max(1, delivered):F1} |"));
                if (closed > 0)
                {
                    print($"(members were cut off at {rate}/s: higher rates are not run)");
                    break;
                }
            }
        }
        finally
        {
            foreach (var publisher in publishers)
            {
                await publisher.DisposeAsync();
            }

            members.StandardInput.Close();
            await members.WaitForExitAsync(cancellationToken).WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
        }
    }

    /// <summary>Publishes open loop at <paramref name="rate"/> for <paramref name="duration"/>, the rooms in turn, spread over the publishers.</summary>
    private static async Task<long> OfferAsync(BenchClient[] publishers, int rooms, int rate, TimeSpan duration, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        var sent = 0L;
        using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(1));
        while (Stopwatch.GetElapsedTime(start) < duration)
        {
            var due = (long)(Stopwatch.GetElapsedTime(start).TotalSeconds * rate);
            for (; sent < due; sent++)
            {
                var room = (int)(sent % rooms);
                await publishers[room % publishers.Length].SendAsync($$$"""{"op":"publish","room":"{{{FanRoom}}}{{{room}}}","data":{"t":0}}""", cancellationToken);
            }

            await tick.WaitForNextTickAsync(cancellationToken);
        }

        return sent;
    }

    /// <summary>
    /// Waits until the members hold <paramref name="expected"/> or their count stops changing for a
    /// second (members cut off never get the rest); returns the count and when it last changed.
    /// </summary>
    private static async Task<(long Received, int Closed, TimeSpan LastChange)> DrainAsync(Process members, long expected, Stopwatch clock, CancellationToken cancellationToken)
    {
        var (received, closed) = await MembersProcess.CountAsync(members, cancellationToken);
        var lastChange = clock.Elapsed;
        var deadline = clock.Elapsed + TimeSpan.FromSeconds(60);
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        while (received < expected && clock.Elapsed < deadline && clock.Elapsed - lastChange < TimeSpan.FromSeconds(1))
        {
            await poll.WaitForNextTickAsync(cancellationToken);
            var (now, nowClosed) = await MembersProcess.CountAsync(members, cancellationToken);
            if (now != received)
            {
                lastChange = clock.Elapsed;
            }

            (received, closed) = (now, nowClosed);
        }

        return (received, closed, lastChange);
    }

    private static async Task<BenchClient[]> ConnectAsync(NginxFront nginx, string user, int count, CancellationToken cancellationToken)
    {
        var clients = new BenchClient[count];
        for (var i = 0; i < count; i++)
        {
            clients[i] = await BenchClient.ConnectAsync(nginx.Ws, user + i.ToString(CultureInfo.InvariantCulture), cancellationToken);
        }

        return clients;
    }

    /// <summary>CPU seconds of the run's processes, read together.</summary>
    private sealed class CpuMeter(IReadOnlyList<NodeProcess> nodes, NginxFront nginx, int redisPid)
    {
        public CpuSample Read() => new(nodes.Select(n => n.CpuSeconds()).ToArray(), nginx.CpuSeconds(), ProcessCpu.Seconds(redisPid));
    }

    private sealed record CpuSample(double[] PerNode, double Nginx, double Redis)
    {
        public double Nodes => PerNode.Sum();

        public static CpuSample operator -(CpuSample after, CpuSample before) =>
            new(after.PerNode.Zip(before.PerNode, (a, b) => a - b).ToArray(), after.Nginx - before.Nginx, after.Redis - before.Redis);

        /// <summary>Each process's share of a core over <paramref name="seconds"/>: nodes, then nginx and Redis.</summary>
        public string Describe(double seconds) => string.Create(CultureInfo.InvariantCulture,
            $"{string.Join(" + ", PerNode.Select(n => $"{100 * n / seconds:F0}"))} / {100 * Nginx / seconds:F0} / {100 * Redis / seconds:F0}");
    }
}

/// <summary>What a scale-out run offers.</summary>
internal sealed record ScaleOutSettings(int Members, int RoomSize, int Publishers, int[] Rates, TimeSpan Duration);

/// <summary>The Redis a run uses: its address and its process, whose CPU is read.</summary>
internal sealed record LocalRedisHandle(string Configuration, int Pid);
