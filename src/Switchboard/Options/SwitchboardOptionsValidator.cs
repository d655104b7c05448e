using Microsoft.Extensions.Options;

namespace Switchboard.Options;

/// <summary>Rejects option values the server cannot run with, with one message naming every bad key.</summary>
internal sealed class SwitchboardOptionsValidator : IValidateOptions<SwitchboardOptions>
{
    public ValidateOptionsResult Validate(string? name, SwitchboardOptions options)
    {
        var failures = new List<string>();
        void Require(bool ok, string key, string rule)
        {
            if (!ok)
            {
                failures.Add($"Switchboard:{key} {rule}");
            }
        }

        Require(options.Broker is "memory" or "redis", "Broker", $"must be 'memory' or 'redis' (got '{options.Broker}')");
        var limits = options.Limits;
        Require(limits.MaxMessageBytes is >= 256 and <= 16 * 1024 * 1024, "Limits:MaxMessageBytes", "must be between 256 and 16777216");
        Require(limits.MaxQueuedMessages is >= 1 and <= 1_000_000, "Limits:MaxQueuedMessages", "must be between 1 and 1000000");
        Require(limits.MaxQueuedBytes >= limits.MaxMessageBytes, "Limits:MaxQueuedBytes", "must be at least Limits:MaxMessageBytes");
        Require(limits.MaxRoomsPerConnection is >= 1 and <= 100_000, "Limits:MaxRoomsPerConnection", "must be between 1 and 100000");
        Require(limits.MaxBatchBytes is >= 1024 and <= 1024 * 1024, "Limits:MaxBatchBytes", "must be between 1024 and 1048576");
        Require(limits.CloseTimeoutSeconds is > 0 and <= 300, "Limits:CloseTimeoutSeconds", "must be greater than 0 and at most 300");
        Require(options.History.Size is >= 0 and <= 1_000_000, "History:Size", "must be between 0 and 1000000");
        Require(options.History.TtlSeconds is > 0 and <= 30 * 86400, "History:TtlSeconds", "must be greater than 0 and at most 2592000");
        Require(options.History.MaxBytesPerRoom >= 0, "History:MaxBytesPerRoom", "must be at least 0");
        Require(options.History.MaxBytesPerUser >= 0, "History:MaxBytesPerUser", "must be at least 0");
        Require(options.History.MaxBytesPerNode >= 0, "History:MaxBytesPerNode", "must be at least 0");
        Require(options.History.IdempotencyWindowSeconds is >= 0 and <= 86400, "History:IdempotencyWindowSeconds", "must be between 0 and 86400");
        Require(options.History.IdempotencyKeysPerRoom is >= 0 and <= 1_000_000, "History:IdempotencyKeysPerRoom", "must be between 0 and 1000000");
        Require(options.Heartbeat.IntervalSeconds is >= 0.1 and <= 3600, "Heartbeat:IntervalSeconds", "must be between 0.1 and 3600");
        Require(options.Heartbeat.TimeoutSeconds is >= 0.1 and <= 3600, "Heartbeat:TimeoutSeconds", "must be between 0.1 and 3600");
        // zlib cannot deflate with a 256-byte window (RFC 7692 allows 8), so .NET's compressor starts at 9.
        Require(options.Compression.WindowBits is >= 9 and <= 15, "Compression:WindowBits", "must be between 9 and 15");
        Require(options.Compression.MinMessageBytes >= 0, "Compression:MinMessageBytes", "must be at least 0");
        Require(options.Shutdown.DrainSeconds is >= 0 and <= 3600, "Shutdown:DrainSeconds", "must be between 0 and 3600");
        Require(limits.PublishesPerSecond > 0, "Limits:PublishesPerSecond", "must be greater than 0");
        Require(limits.PublishBurst >= 1, "Limits:PublishBurst", "must be at least 1");
        Require(limits.CommandsPerSecond > 0, "Limits:CommandsPerSecond", "must be greater than 0");
        Require(limits.CommandBurst >= 1, "Limits:CommandBurst", "must be at least 1");
        Require(limits.RateLimitStrikes >= 1, "Limits:RateLimitStrikes", "must be at least 1");
        Require(limits.MaxConnectionsPerUser >= 1, "Limits:MaxConnectionsPerUser", "must be at least 1");
        Require(limits.MaxConnectionsPerIp >= 1, "Limits:MaxConnectionsPerIp", "must be at least 1");
        Require(limits.MaxPlainRoomMembers >= 1, "Limits:MaxPlainRoomMembers", "must be at least 1");
        Require(limits.MaxMembersForPresenceEvents >= 0, "Limits:MaxMembersForPresenceEvents", "must be at least 0");
        Require(limits.AcceptsPerSecond >= 1, "Limits:AcceptsPerSecond", "must be at least 1");
        Require(limits.AcceptsPerSecondPerIp > 0, "Limits:AcceptsPerSecondPerIp", "must be greater than 0");
        Require(limits.AcceptBurstPerIp >= 1, "Limits:AcceptBurstPerIp", "must be at least 1");
        Require(limits.MaxAnonymousConnectionsPerIp >= 1, "Limits:MaxAnonymousConnectionsPerIp", "must be at least 1");
        Require(limits.HandshakeTimeoutSeconds is > 0 and <= 300, "Limits:HandshakeTimeoutSeconds", "must be greater than 0 and at most 300");
        // Costs per command (issue 11, item 5).
        Require(limits.JoinsPerSecond > 0, "Limits:JoinsPerSecond", "must be greater than 0");
        Require(limits.JoinBurst >= 1, "Limits:JoinBurst", "must be at least 1");
        Require(limits.PresenceEventsPerSecond > 0, "Limits:PresenceEventsPerSecond", "must be greater than 0");
        Require(limits.ResyncRoomsPerSecond > 0, "Limits:ResyncRoomsPerSecond", "must be greater than 0");
        Require(limits.PresenceEventBurst >= 1, "Limits:PresenceEventBurst", "must be at least 1");
        Require(limits.ReadsPerSecond > 0, "Limits:ReadsPerSecond", "must be greater than 0");
        Require(limits.ReadBurst >= 1, "Limits:ReadBurst", "must be at least 1");
        Require(limits.ReplyBytesPerSecond > 0, "Limits:ReplyBytesPerSecond", "must be greater than 0");
        Require(limits.ReplyBurstBytes >= 1, "Limits:ReplyBurstBytes", "must be at least 1");
        Require(limits.MaxReplyBytes >= 1024, "Limits:MaxReplyBytes", "must be at least 1024");
        Require(limits.UserPublishesPerSecond > 0, "Limits:UserPublishesPerSecond", "must be greater than 0");
        Require(limits.UserPublishBurst >= 1, "Limits:UserPublishBurst", "must be at least 1");
        SecurityRules.Validate(options, Require);
        PathRules.Validate(options.Paths, Require);

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
