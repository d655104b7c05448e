using System.Diagnostics;
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
    private static readonly TimeSpan FailoverTimeout = TimeSpan.FromSeconds(30);
    private readonly SentinelTopology _redis = new();
    private readonly Stopwatch _failing = new();
    private TestServer[] _nodes = [];

    public async Task InitializeAsync()
    {
        await _redis.InitializeAsync();
        try
        {
            _nodes = await RedisNodes.StartServersAsync(_redis.Settings(), 2);
        }
        catch
        {
            // xUnit does not dispose a test whose initialization failed: nothing may outlive it.
            await _redis.DisposeAsync();
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task AManualFailoverWhilePublishingRefusesOrDeliversEveryPublicationOnceToEveryMember()
    {
        await PublishThroughFailoverAsync(async (master, replica) =>
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

    [Fact]
    public async Task KillingTheMasterWhilePublishingRefusesOrDeliversEveryPublicationOnceToEveryMember()
    {
        await PublishThroughFailoverAsync(async (master, replica) =>
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
    /// Members on both nodes; publications through both nodes, before, during and after
    /// <paramref name="failOver"/> (given the master and the replica it is to promote). Asserted:
    /// every publication is acknowledged with an offset or refused with 503 <c>unavailable</c>, and no
    /// offset is acknowledged twice (the publisher checks each answer: an acknowledged publication lost
    /// in the failover would have its offset taken again); every member holds every offset from 1 to
    /// the last acknowledged one, once each, in order, and the same publication at each as every other
    /// member; at each acknowledged offset it holds the acknowledged publication, or else a refused one
    /// (the known gap below). An offset nobody acknowledged is a publication whose answer was lost: it
    /// exists and is delivered like the rest (at-least-once for a retrying client).
    /// </summary>
    private async Task PublishThroughFailoverAsync(Func<RedisServer, RedisServer, Task> failOver)
    {
        var members = new List<ProtocolClient>();
        try
        {
            foreach (var (node, i) in new[] { _nodes[0], _nodes[0], _nodes[1], _nodes[1] }.Select((n, i) => (n, i)))
            {
                var member = await node.ConnectAsync($"member{i}");
                members.Add(member);
                await member.RequestAsync("""{"op":"join","room":"feed"}""");
            }

            var master = await _redis.MasterAsync();
            var replica = _redis.Servers.Single(s => s != master);
            var publisher = new ApiPublisher(_nodes);
            using var stop = new CancellationTokenSource();
            var publishing = publisher.RunAsync("feed", stop.Token);

            await WhilePublishingAsync(publishing, publisher.WaitAsync(p => p.Acknowledged >= 50, "50 publications before the failover"));
            _failing.Restart();
            await WhilePublishingAsync(publishing, failOver(master, replica));
            output.WriteLine($"{Since()}: failover complete");
            var acknowledgedBefore = publisher.Acknowledged;
            await WhilePublishingAsync(publishing, publisher.WaitAsync(p => p.Acknowledged >= acknowledgedBefore + 50, "publications resumed on the new master"));
            await stop.CancelAsync();
            await publishing.WaitAsync(TimeSpan.FromSeconds(10));

            var acknowledged = publisher.AcknowledgedOffsets();
            var top = acknowledged.Keys.Max();
            output.WriteLine($"acknowledged {acknowledged.Count} ({acknowledgedBefore} before the failover was complete), refused {publisher.Refused}, last offset {top}");
            var refused = publisher.RefusedData();
            List<int>? first = null;
            foreach (var member in members)
            {
                var received = await member.TakeAsync("feed", (int)top, TimeSpan.FromSeconds(20));
                Assert.Equal(Enumerable.Range(1, (int)top).Select(i => (ulong)i), received.Select(m => m.Offset()));
                var data = received.Select(m => m.GetProperty("data").GetInt32()).ToList();
                // Every member holds the same publication at every offset.
                first ??= data;
                Assert.Equal(first, data);
            }

            // The known gap (docs/scaling.md, "Sentinel"): a publication refused because the replica did
            // not confirm it in time may still have been delivered from the old master, then lost with
            // it, and its offset taken again on the new master by an acknowledged one, which the members
            // then skip as already seen. Anything else in place of an acknowledged publication fails.
            var displaced = acknowledged.Where(a => first![(int)a.Key - 1] != a.Value).ToArray();
            output.WriteLine($"acknowledged publications displaced by a refused one the failover lost: {displaced.Length}");
            Assert.All(displaced, a => Assert.Contains(first![(int)a.Key - 1], refused));
        }
        finally
        {
            foreach (var member in members)
            {
                await member.DisposeAsync();
            }
        }
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
