using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Redis;

/// <summary>Redis dies under load and comes back: nothing acknowledged may vanish.</summary>
[Trait("Category", "external")]
public sealed class RedisOutageTests : IAsyncLifetime
{
    private RedisCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await RedisCluster.StartAsync(2);

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task KillingRedisWhilePublishingThroughTheApiLosesNoAcknowledgedPublication()
    {
        var members = new List<ProtocolClient>();
        try
        {
            foreach (var (node, i) in new[] { _cluster.Nodes[0], _cluster.Nodes[1], _cluster.Nodes[1] }.Select((n, i) => (n, i)))
            {
                var member = await node.ConnectAsync($"member{i}");
                members.Add(member);
                await member.RequestAsync("""{"op":"join","room":"feed"}""");
            }

            var publisher = new ApiPublisher(_cluster.Nodes);
            using var stop = new CancellationTokenSource();
            var publishing = publisher.RunAsync("feed", stop.Token);

            await publisher.WaitAsync(p => p.Acknowledged >= 30, "30 publications before the outage");
            await _cluster.Redis.KillAsync();
            var refusedBefore = publisher.Refused;
            await publisher.WaitAsync(p => p.Refused >= refusedBefore + 50, "the outage refused publications");
            await _cluster.Redis.RestartAsync();
            var acknowledgedBefore = publisher.Acknowledged;
            await publisher.WaitAsync(p => p.Acknowledged >= acknowledgedBefore + 30, "publications resumed after Redis came back");
            await stop.CancelAsync();
            await publishing.WaitAsync(TimeSpan.FromSeconds(10));

            var acknowledged = publisher.AcknowledgedOffsets();
            var top = acknowledged.Keys.Max();
            Assert.True(publisher.Refused >= 50);
            foreach (var member in members)
            {
                // Every offset up to the last acknowledged one, exactly once and in order: an
                // acknowledged publication never vanishes, and one whose answer was lost with Redis
                // was either never written or is delivered like the rest.
                var received = await member.TakeAsync("feed", (int)top, TimeSpan.FromSeconds(20));
                Assert.Equal(Enumerable.Range(1, (int)top).Select(i => (ulong)i), received.Select(m => m.Offset()));
                var data = received.ToDictionary(m => m.Offset(), m => m.GetProperty("data").GetInt32());
                Assert.All(acknowledged, a => Assert.Equal(a.Value, data[a.Key]));
            }
        }
        finally
        {
            foreach (var member in members)
            {
                await member.DisposeAsync();
            }
        }
    }
}
