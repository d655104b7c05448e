using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Switchboard.Tests.Infrastructure;
using Switchboard.Tests.Redis.Topologies;
using Xunit;
using Xunit.Abstractions;

namespace Switchboard.Tests.Redis;

/// <summary>
/// Two Switchboard nodes on a Sentinel-managed Redis (master, replica, three Sentinels) while the master
/// fails over under a steady stream of publications through both nodes' HTTP API. Each test starts its
/// own deployment, since a failover leaves it changed.
/// </summary>
[Trait("Category", "external")]
public sealed class SentinelFailoverTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Room = "feed";
    private static readonly TimeSpan FailoverTimeout = TimeSpan.FromSeconds(30);
    private readonly SentinelTopology _redis = new();
    private readonly Stopwatch _failing = new();
    private TestServer[] _nodes = [];

    public Task InitializeAsync() => _redis.InitializeAsync();

    public async Task DisposeAsync()
    {

        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        await _redis.DisposeAsync();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(0)]
    public async Task AManualFailoverWhilePublishingRefusesOrDeliversEveryPublicationOnceToEveryMemberOrTellsIt(int waitForReplicas)
    {
        await PublishThroughFailoverAsync(waitForReplicas, async (master, replica) =>
        {
            Assert.Equal(["+OK"], await _redis.Sentinels[0].CommandAsync("SENTINEL", "FAILOVER", RedisSentinel.ServiceName));
            await _redis.WaitForMasterAsync(replica.Port, FailoverTimeout);
            output.WriteLine($"{Since()}: every Sentinel names the replica, which is master");
            // The old master is still up: Sentinel demotes it, and it resyncs from the new one. Whatever
            // it took meanwhile is gone with that resync, so publishing goes on through the demotion.
            await _redis.WaitForReplicaAsync(master.Port, FailoverTimeout);
            output.WriteLine($"{Since()}: the old master replicates from the new one");
        });
    }

    [Theory]
    [InlineData(1)]
    [InlineData(0)]
    public async Task KillingTheMasterWhilePublishingRefusesOrDeliversEveryPublicationOnceToEveryMemberOrTellsIt(int waitForReplicas)
    {
        await PublishThroughFailoverAsync(waitForReplicas, async (master, replica) =>
        {
            await master.KillAsync();
            // Sentinels agree it is down after down-after-milliseconds (1 s), then promote the replica.
            await _redis.WaitForMasterAsync(replica.Port, FailoverTimeout);
            output.WriteLine($"{Since()}: every Sentinel names the replica, which is master");
            // The new master takes writes once a replica follows it (min-replicas-to-write 1): the old
            // one, restarted as a supervisor would, claims to be master until Sentinel demotes it.
            await master.RestartAsync();
            await _redis.WaitForReplicaAsync(master.Port, FailoverTimeout);
            output.WriteLine($"{Since()}: the restarted master replicates from the new one");
        });
    }

    /// <summary>
    /// Two nodes with <paramref name="waitForReplicas"/>; members on both; publications through both
    /// nodes' HTTP API, before, during and after <paramref name="failOver"/> (given the master and the
    /// replica it is to promote). Asserted: every publication is acknowledged or refused with 503
    /// <c>unavailable</c>, and <see cref="FailoverDeliveryContract"/> holds: every member holds every
    /// acknowledged publication once, in order, or was told its stream was lost and rejoined (the
    /// epoch rotates when the new master hands out offsets again, docs/scaling.md). With
    /// <c>WaitForReplicas=1</c> nothing acknowledged can be lost, only refused publications the old
    /// master delivered; with <c>0</c> acknowledged ones can be, and must be told of.
    /// </summary>
    private async Task PublishThroughFailoverAsync(int waitForReplicas, Func<RedisServer, RedisServer, Task> failOver)
    {
        var settings = _redis.Settings();
        settings["Switchboard:Redis:WaitForReplicas"] = waitForReplicas.ToString(CultureInfo.InvariantCulture);
        // Every publication of an epoch stays readable, so that a member put into a new epoch by its
        // rejoin can be held to all of it.
        settings["Switchboard:History:Size"] = "100000";
        using var logs = new CapturingLoggerProvider(Microsoft.Extensions.Logging.LogLevel.Information);
        _nodes = await RedisNodes.StartServersAsync(settings, 2, logs);
        var members = new List<FailoverMember>();
        try
        {
            foreach (var (node, i) in new[] { _nodes[0], _nodes[0], _nodes[1], _nodes[1] }.Select((n, i) => (n, i)))
            {
                members.Add(await FailoverMember.JoinAsync(node, $"member{i}", Room));
            }

            var master = await _redis.MasterAsync();
            var replica = _redis.Servers.Single(s => s != master);
            var publisher = new ApiPublisher(_nodes);
            using var stop = new CancellationTokenSource();
            var publishing = publisher.RunAsync(Room, stop.Token);

            await WhilePublishingAsync(publishing, publisher.WaitAsync(p => p.Acknowledged >= 50, "50 publications before the failover"));
            _failing.Restart();
            await WhilePublishingAsync(publishing, failOver(master, replica));
            output.WriteLine($"{Since()}: failover complete");
            var acknowledgedBefore = publisher.Acknowledged;
            await WhilePublishingAsync(publishing, publisher.WaitAsync(p => p.Acknowledged >= acknowledgedBefore + 50, "publications resumed on the new master"));
            await stop.CancelAsync();
            await publishing.WaitAsync(TimeSpan.FromSeconds(10));

            var top = (Epoch: string.Empty, Offset: 0UL);
            try
            {
                await Eventually.TrueAsync(async () =>
                {
                    top = await RoomPositionAsync();
                    return members.All(m => m.Reached(top.Epoch, top.Offset));
                }, "every member holds the room up to its position", TimeSpan.FromSeconds(30));
            }
            catch (TimeoutException)
            {
                // Where each member stands, for the failure's reader: which one fell behind, in which epoch, told or not.
                output.WriteLine($"room at {top}; refused {publisher.Refused}; members:");
                foreach (var member in members)
                {
                    output.WriteLine($"{member.User}: {FailoverDeliveryContract.Describe(member.Segments())}");
                }

                throw;
            }

            var acknowledged = publisher.Acknowledgements();
            output.WriteLine($"acknowledged {acknowledged.Count} ({acknowledgedBefore} before the failover was complete) in {acknowledged.Select(a => a.Epoch).Distinct().Count()} epoch(s), refused {publisher.Refused}, room at {top}");
            var segments = members.ToDictionary(m => m.User, m => m.Segments());
            foreach (var (user, held) in segments)
            {
                output.WriteLine($"{user}: {FailoverDeliveryContract.Describe(held)}");
            }

            var toldOf = FailoverDeliveryContract.AssertHolds(acknowledged, publisher.RefusedData(), segments, top);
            output.WriteLine($"acknowledged publications members were told of rather than held: {string.Join(", ", toldOf.Select(t => $"{t.Key} {t.Value}"))}");
        }
        finally
        {
            foreach (var e in logs.Entries.Where(e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Warning || e.Category.Contains("Kestrel")))
            {
                output.WriteLine(e.ToString());
            }

            foreach (var member in members)
            {
                await member.DisposeAsync();
            }
        }
    }

    /// <summary>The room's epoch and last offset, as the HTTP API reads them from Redis.</summary>
    private async Task<(string Epoch, ulong Offset)> RoomPositionAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var reply = await _nodes[0].Http.GetFromJsonAsync<JsonElement>($"api/rooms/{Room}/history?limit=1", timeout.Token);
        return (reply.GetProperty("epoch").GetString()!, reply.GetProperty("offset").GetUInt64());
    }

    private string Since() => $"{_failing.ElapsedMilliseconds} ms";

    /// <summary>Awaits <paramref name="step"/>, failing at once with the publisher's own failure (an answer it does not allow) if it stops first.</summary>
    private static async Task WhilePublishingAsync(Task publishing, Task step)
    {
        if (await Task.WhenAny(step, publishing) == publishing)
        {
            await publishing;
            throw new InvalidOperationException("the publisher stopped before it was told to");
        }

        await step;
    }
}
