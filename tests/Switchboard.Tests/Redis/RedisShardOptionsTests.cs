using Microsoft.Extensions.Options;
using Switchboard.Options;
using Switchboard.Redis;
using Xunit;

namespace Switchboard.Tests.Redis;

/// <summary>How the shard settings are checked at start-up: each bad key named, as for every option.</summary>
[Trait("Category", "unit")]
public sealed class RedisShardOptionsTests
{
    [Fact]
    public void ShardsStandInForTheSingleConfiguration()
    {
        var options = Shards("127.0.0.1:6379", "127.0.0.1:6380");
        Assert.True(Validate(options).Succeeded);
        Assert.Equal(["127.0.0.1:6379", "127.0.0.1:6380"], options.ShardConfigurations());
    }

    [Fact]
    public void TheSingleConfigurationIsOneShard() =>
        Assert.Equal(["127.0.0.1:6379"], new RedisBrokerOptions { Configuration = "127.0.0.1:6379" }.ShardConfigurations());

    [Fact]
    public void ConfigurationBesideShardsIsRefused()
    {
        var options = Shards("127.0.0.1:6379");
        options.Configuration = "127.0.0.1:6381";
        Assert.Contains(Validate(options).Failures!, f => f.StartsWith("Switchboard:Redis:Configuration must be empty", StringComparison.Ordinal));
    }

    [Fact]
    public void AnEmptyOrDuplicatedShardIsNamed()
    {
        var failures = Validate(Shards("127.0.0.1:6379", " ", "127.0.0.1:6379")).Failures!;
        Assert.Contains(failures, f => f.StartsWith("Switchboard:Redis:Shards:1 ", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Switchboard:Redis:Shards lists a shard twice", StringComparison.Ordinal));
    }

    [Fact]
    public void NeitherConfigurationNorShardsIsRefused() =>
        Assert.Contains(Validate(new RedisBrokerOptions()).Failures!, f => f.StartsWith("Switchboard:Redis:Configuration is required", StringComparison.Ordinal));

    private static RedisBrokerOptions Shards(params string[] shards)
    {
        var options = new RedisBrokerOptions();
        foreach (var shard in shards)
        {
            options.Shards.Add(shard);
        }

        return options;
    }

    private static ValidateOptionsResult Validate(RedisBrokerOptions options) =>
        new RedisBrokerOptionsValidator(Microsoft.Extensions.Options.Options.Create(new SwitchboardOptions { Broker = "redis" })).Validate(null, options);
}
