using Microsoft.Extensions.Options;
using Switchboard.Options;
using Switchboard.Redis;
using Xunit;

namespace Switchboard.Tests.Redis;

/// <summary>How a shard that names a Sentinel service, and <c>WaitForReplicas</c>, are checked at start-up.</summary>
[Trait("Category", "unit")]
public sealed class SentinelOptionsTests
{
    [Fact]
    public void AShardMayNameItsSentinelsAndService()
    {
        var options = new RedisBrokerOptions();
        options.Shards.Add("10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379,serviceName=shard0");
        options.Shards.Add("10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379,serviceName=shard1");
        options.WaitForReplicas = 1;
        Assert.True(Validate(options).Succeeded, string.Join("; ", Validate(options).Failures ?? []));
    }

    [Fact]
    public void AServiceWithoutSentinelsIsRefused() =>
        Assert.Contains(Validate(new RedisBrokerOptions { Configuration = "serviceName=mymaster" }).Failures!,
            f => f.StartsWith("Switchboard:Redis:Configuration is not a valid StackExchange.Redis connection string: no Sentinel endpoint for serviceName mymaster", StringComparison.Ordinal));

    [Fact]
    public void ASentinelServiceMarkedAsAClusterIsRefused() =>
        Assert.Contains(Validate(new RedisBrokerOptions { Configuration = "127.0.0.1:26379,serviceName=mymaster", Cluster = true }).Failures!,
            f => f.StartsWith("Switchboard:Redis:Configuration names a Sentinel service", StringComparison.Ordinal));

    [Theory]
    [InlineData(-1)]
    [InlineData(17)]
    public void WaitForReplicasOutOfRangeIsRefused(int replicas) =>
        Assert.Contains(Validate(new RedisBrokerOptions { Configuration = "127.0.0.1:6379", WaitForReplicas = replicas }).Failures!,
            f => f.StartsWith("Switchboard:Redis:WaitForReplicas must be between 0 and 16", StringComparison.Ordinal));

    [Fact]
    public void WaitForReplicasWithAClusterIsRefused() =>
        Assert.Contains(Validate(new RedisBrokerOptions { Configuration = "127.0.0.1:7000", Cluster = true, WaitForReplicas = 1 }).Failures!,
            f => f.StartsWith("Switchboard:Redis:WaitForReplicas must be 0 with Cluster", StringComparison.Ordinal));

    private static ValidateOptionsResult Validate(RedisBrokerOptions options) =>
        new RedisBrokerOptionsValidator(Microsoft.Extensions.Options.Options.Create(new SwitchboardOptions { Broker = "redis" })).Validate(null, options);
}
