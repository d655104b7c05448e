using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Options;

namespace Switchboard.Redis;

/// <summary>Rejects Redis settings the broker cannot run with, when the Redis broker is selected.</summary>
internal sealed class RedisBrokerOptionsValidator(IOptions<SwitchboardOptions> switchboard) : IValidateOptions<RedisBrokerOptions>
{
    public ValidateOptionsResult Validate(string? name, RedisBrokerOptions options)
    {
        if (switchboard.Value.Broker != RedisServiceCollectionExtensions.BrokerName)
        {
            return ValidateOptionsResult.Skip;
        }

        var failures = new List<string>();
        void Require(bool ok, string key, string rule)
        {
            if (!ok)
            {
                failures.Add($"{RedisBrokerOptions.SectionName}:{key} {rule}");
            }
        }

        var single = !string.IsNullOrWhiteSpace(options.Configuration);
        if (options.Shards.Count == 0)
        {
            Require(single, "Configuration", "is required when Switchboard:Broker is 'redis' (for example 127.0.0.1:6379), unless Shards lists several");
        }
        else
        {
            Require(!single, "Configuration", "must be empty when Shards is set (list every shard, this one too, in Shards)");
        }

        if (single)
        {
            Require(Parses(options.Configuration!, out var error), "Configuration", $"is not a valid StackExchange.Redis connection string: {error}");
        }

        for (var i = 0; i < options.Shards.Count; i++)
        {
            var shard = options.Shards[i];
            var error = "empty";
            Require(!string.IsNullOrWhiteSpace(shard) && Parses(shard, out error), $"Shards:{i}", $"is not a valid StackExchange.Redis connection string: {error}");
        }

        Require(options.Shards.Distinct(StringComparer.Ordinal).Count() == options.Shards.Count, "Shards", "lists a shard twice");

        Require(options.KeyPrefix is { Length: >= 1 and <= 64 } && !options.KeyPrefix.Any(c => char.IsWhiteSpace(c) || c is '{' or '}'), "KeyPrefix", "must be 1-64 characters without spaces or braces");
        Require(options.PresenceIntervalSeconds is >= 0.05 and <= 3600, "PresenceIntervalSeconds", "must be between 0.05 and 3600");
        Require(options.PresenceTimeoutSeconds >= 2 * options.PresenceIntervalSeconds && options.PresenceTimeoutSeconds <= 86400, "PresenceTimeoutSeconds", "must be at least twice PresenceIntervalSeconds (a node gets two refreshes before it expires) and at most 86400");
        Require(options.OperationTimeoutSeconds is >= 0.05 and <= 60, "OperationTimeoutSeconds", "must be between 0.05 and 60");
        Require(options.GapWaitMilliseconds is >= 0 and <= 10_000, "GapWaitMilliseconds", "must be between 0 and 10000");
        Require(options.WaitForReplicas is >= 0 and <= 16, "WaitForReplicas", "must be between 0 and 16");
        Require(options.WaitForReplicas == 0 || options.Cluster != true, "WaitForReplicas", "must be 0 with Cluster (WAIT cannot be sent to a room's master there)");
        var sentinels = options.ShardConfigurations().Select((c, i) => (Key: options.Shards.Count > 0 ? $"Shards:{i}" : "Configuration", Sentinel: IsSentinel(c))).Where(s => s.Sentinel).ToArray();
        foreach (var (key, _) in sentinels)
        {
            Require(options.Cluster != true, key, "names a Sentinel service (serviceName=...), which cannot be a Redis Cluster: leave Cluster unset or false");
        }
        Require(options.PubSubProbeIntervalSeconds == 0 || options.PubSubProbeIntervalSeconds is >= 0.05 and <= 3600, "PubSubProbeIntervalSeconds", "must be 0 (off) or between 0.05 and 3600");
        Require(options.PubSubProbeTimeoutSeconds is >= 0.05 and <= 600, "PubSubProbeTimeoutSeconds", "must be between 0.05 and 600");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static bool Parses(string configuration, out string error)
    {
        try
        {
            var parsed = ConfigurationOptions.Parse(configuration);
            error = parsed.EndPoints.Count == 0 ? (string.IsNullOrEmpty(parsed.ServiceName) ? "no endpoint" : "no Sentinel endpoint for serviceName " + parsed.ServiceName)
                : parsed.ServiceName is { } service && string.IsNullOrWhiteSpace(service) ? "serviceName is empty"
                : string.Empty;
            return error.Length == 0;
        }
        catch (ArgumentException ex)
        {
            error = ex.Message;
            return false;
        }
    }

    private static bool IsSentinel(string configuration)
    {
        try
        {
            return !string.IsNullOrEmpty(ConfigurationOptions.Parse(configuration).ServiceName);
        }
        catch (ArgumentException)
        {
            // Reported by Parses.
            return false;
        }
    }
}
