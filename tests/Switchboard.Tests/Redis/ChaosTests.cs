using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Switchboard.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Switchboard.Tests.Redis;

/// <summary>
/// Issue 10's chaos test: the whole deployment (three node processes of the shipped host behind a
/// real nginx, one Redis without persistence) takes three faults in a row while a publisher keeps
/// publishing through nginx and members keep reading: a node killed with SIGKILL, Redis restarted
/// empty, every pub/sub connection killed. Afterwards every member holds every acknowledged offset
/// exactly once, in order, or was told per room that the rest of that epoch cannot be recovered.
/// Runs alone, after the parallel tests, as <see cref="LoadBalancerTests"/> does.
/// </summary>
[Collection(TimingSensitive.Name)]
[Trait("Category", "external")]
public sealed class ChaosTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly string[] RoomNames = ["r0", "r1", "r2", "r3"];
    private static readonly TimeSpan PhaseDeadline = TimeSpan.FromSeconds(30);
    private const int Members = 9;
    private const int SeenPerPhase = 10;
    private const int Burst = 20;

    private NodesBehindNginx? _cluster;

    private NodesBehindNginx Cluster => _cluster ?? throw new InvalidOperationException("the nodes were not started");

    private NginxServer Nginx => Cluster.Nginx;

    public async Task InitializeAsync()
    {
        _cluster = await NodesBehindNginx.StartAsync(3, output, new Dictionary<string, string>
        {
            // A probe of the subscriber connection every half second, so a stall shows within a phase.
            ["Switchboard__Redis__PubSubProbeIntervalSeconds"] = "0.5",
            ["Switchboard__Redis__PubSubProbeTimeoutSeconds"] = "1",
        });
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    [Fact]
    public async Task AfterANodeKillARedisRestartAndAPubSubKillEveryMemberHoldsEveryOffsetOnceOrWasToldPerRoom()
    {
        var clock = Stopwatch.StartNew();
        var members = Enumerable.Range(0, Members)
            .Select(i => ChaosMember.Start(Nginx, $"m{i}", RoomsOf(i)))
            .ToList();
        ChaosPublisher? publisher = null;
        try
        {
            await WaitAsync(() => members.All(m => m.IsSettled), "every member joined its rooms", members);
            publisher = ChaosPublisher.Start(Nginx.BaseUri, RoomNames, TimeSpan.FromMilliseconds(15));
            await WaitUntilEachSawMoreAsync(members, publisher, "traffic before any fault");

            // (1) A node dies with its members' connections: they reconnect through nginx and rejoin with since.
            var connectionsBefore = members.Sum(m => m.Connections);
            var killedAt = clock.Elapsed;
            await Cluster.KillAsync(0);
            await publisher.BurstAsync(Burst);
            await WaitAsync(() => members.Sum(m => m.Connections) > connectionsBefore && members.All(m => m.IsSettled), "the killed node's members reconnected and rejoined", members, publisher);
            var reconnected = members.Sum(m => m.Connections) - connectionsBefore;
            var recoveredFromKill = clock.Elapsed - killedAt;
            await WaitUntilEachSawMoreAsync(members, publisher, "traffic after the node was killed");

            // (2) Redis restarts empty: every room's stream is gone, the next publication starts a new epoch.
            var epochsBefore = members.SelectMany(m => m.Rooms.Select(r => (m, r, m.Log(r).Position!.Value.Epoch))).ToList();
            var restartedAt = clock.Elapsed;
            await Cluster.Redis.KillAsync();
            await Cluster.Redis.RestartAsync();
            await publisher.BurstAsync(Burst);
            await WaitAsync(
                () => epochsBefore.All(x => x.m.Log(x.r).Position is { } p && p.Epoch != x.Epoch && x.m.Log(x.r).HeldCount(p.Epoch) >= SeenPerPhase) && members.All(m => m.IsSettled),
                "every member holds publications of each room's new epoch", members, publisher);
            var recoveredFromRestart = clock.Elapsed - restartedAt;

            // (3) Every subscriber connection is killed while commands keep working.
            var killed = await Cluster.Redis.CommandAsync("CLIENT", "KILL", "TYPE", "pubsub");
            Assert.StartsWith(":", killed, StringComparison.Ordinal);
            Assert.NotEqual(":0", killed);
            await publisher.BurstAsync(Burst);
            await WaitUntilEachSawMoreAsync(members, publisher, "traffic after the pub/sub connections were killed");

            await publisher.StopAsync();
            var tops = await TopsAsync();
            await WaitAsync(
                () => members.All(m => m.IsSettled && m.Rooms.All(r => m.Log(r).Position == tops[r])),
                "every member holds the top of each room's current epoch", members, publisher);

            var problems = Problems(members, publisher);
            Assert.True(problems.Count == 0, string.Join("\n", problems.Take(40)));
            var told = members.Sum(m => m.Rooms.Sum(r => m.Log(r).RemovedCount));
            var notRecovered = members.Sum(m => m.Rooms.Sum(r => m.Log(r).NotRecoveredCount));
            var recoveredPublications = members.Sum(m => m.Rooms.Sum(r => m.Log(r).RecoveredCount));
            var held = members.Sum(m => m.Rooms.Sum(r => m.Log(r).HeldCount()));
            // The restart is the one fault that loses data: each membership must have learnt it.
            Assert.All(members.SelectMany(m => m.Rooms.Select(m.Log)), log => Assert.True(log.NotRecoveredCount > 0, $"{log.Room}: a member was never told its stream was lost"));
            output.WriteLine(
                $"{publisher.Acknowledged} publications acknowledged, {publisher.Refused} refused (503), {publisher.Unknown} unanswered; " +
                $"node killed at {killedAt.TotalSeconds:F1} s ({reconnected} members reconnected and rejoined within {recoveredFromKill.TotalMilliseconds:F0} ms); Redis restarted at {restartedAt.TotalSeconds:F1} s, " +
                $"every member in the new epochs {recoveredFromRestart.TotalMilliseconds:F0} ms later; CLIENT KILL TYPE pubsub answered {killed}; " +
                $"{members.Sum(m => m.Rooms.Count)} memberships: {told} removed stream_lost, {notRecovered} recovered:false, {recoveredPublications} publications recovered by recovered:true replies, {held} offsets held, {members.Sum(m => m.UnavailableJoins)} joins answered unavailable and sent again; " +
                $"all done in {clock.Elapsed.TotalSeconds:F1} s");
        }
        finally
        {
            if (publisher is not null)
            {
                await publisher.DisposeAsync();
            }

            foreach (var member in members)
            {
                await member.DisposeAsync();
            }
        }
    }

    /// <summary>Every breach of the contract seen so far, by any member in any room.</summary>
    private static List<string> Problems(List<ChaosMember> members, ChaosPublisher? publisher)
    {
        var problems = new List<string>(publisher?.PositionsAcknowledgedTwice ?? []);
        var unacknowledged = publisher?.Unacknowledged() ?? new HashSet<string>();
        foreach (var member in members)
        {
            problems.AddRange(member.Violations);
            foreach (var room in member.Rooms)
            {
                var acknowledged = publisher?.AcknowledgedIn(room) ?? new Dictionary<(string, ulong), string>();
                problems.AddRange(member.Log(room).Check(acknowledged, unacknowledged).Select(p => $"{member.User} {p}"));
            }
        }

        return problems;
    }

    /// <summary>Two or three of the four rooms per member, so that every room has several members and each member several rooms.</summary>
    private static IEnumerable<string> RoomsOf(int member) =>
        Enumerable.Range(0, member % 3 == 0 ? 3 : 2).Select(k => RoomNames[(member + k) % RoomNames.Length]);

    private static async Task WaitUntilEachSawMoreAsync(List<ChaosMember> members, ChaosPublisher publisher, string what)
    {
        var before = members.ToDictionary(m => m, m => m.Rooms.ToDictionary(r => r, r => m.Log(r).HeldCount()));
        await WaitAsync(() => members.All(m => m.IsSettled && m.Rooms.All(r => m.Log(r).HeldCount() >= before[m][r] + SeenPerPhase)), $"every member saw {what}", members, publisher);
    }

    private static async Task WaitAsync(Func<bool> condition, string because, List<ChaosMember> members, ChaosPublisher? publisher = null)
    {
        try
        {
            await Eventually.TrueAsync(condition, because, PhaseDeadline);
        }
        catch (TimeoutException ex)
        {
            var state = members.SelectMany(m => m.Rooms.Select(r => $"{m.User} {r}: settled {m.IsSettled}, at {m.Log(r).Position}, held {m.Log(r).HeldCount()}, removed {m.Log(r).RemovedCount}, not recovered {m.Log(r).NotRecoveredCount}"))
                // What went wrong on the way, rather than only where everyone got stuck (the acknowledged
                // publications not yet held are listed too: most of them are only on their way).
                .Concat(Problems(members, publisher).OrderBy(p => p.Contains("never held", StringComparison.Ordinal)).Take(40));
            throw new TimeoutException(ex.Message + "\n" + string.Join("\n", state), ex);
        }
    }

    /// <summary>Each room's current epoch and top offset, as a node answers for its history.</summary>
    private async Task<Dictionary<string, (string Epoch, ulong Offset)?>> TopsAsync()
    {
        var tops = new Dictionary<string, (string, ulong)?>();
        foreach (var room in RoomNames)
        {
            var history = await Nginx.Http.GetFromJsonAsync<JsonElement>($"api/rooms/{room}/history?limit=1");
            tops[room] = (history.GetProperty("epoch").GetString()!, history.GetProperty("offset").GetUInt64());
        }

        return tops;
    }
}
