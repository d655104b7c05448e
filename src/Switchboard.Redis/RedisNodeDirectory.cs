using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Switchboard.Dashboard;

namespace Switchboard.Redis;

/// <summary>
/// The dashboard's view of every node sharing this Redis (its home shard, shard 0, when there are several): each node writes its report once a second
/// into one hash and reads everyone's back, in one script. A node that stops reporting is dropped
/// after <see cref="ReportTtlMilliseconds"/>, by Redis's clock, so node clocks do not matter.
/// </summary>
/// <remarks>
/// Keys: <c>PREFIX:{dashboard}:nodes</c> (sorted set of node ids scored by when their report
/// expires) and <c>PREFIX:{dashboard}:reports</c> (hash of node id to report JSON); both expire when
/// no node writes for twice the report lifetime.
/// </remarks>
internal sealed class RedisNodeDirectory(RedisBroker broker, IOptions<RedisBrokerOptions> options) : INodeDirectory
{
    /// <summary>A report lives five seconds: a node missing several seconds of samples is shown gone, a busy second is not.</summary>
    public const long ReportTtlMilliseconds = 5000;

    private const string Exchange = """
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        local ttl = tonumber(ARGV[3])
        redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
        redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
        local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
        for _, node in ipairs(dead) do
          redis.call('ZREM', KEYS[1], node)
          redis.call('HDEL', KEYS[2], node)
        end
        redis.call('PEXPIRE', KEYS[1], 2 * ttl)
        redis.call('PEXPIRE', KEYS[2], 2 * ttl)
        return redis.call('HVALS', KEYS[2])
        """;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly RedisKey[] _keys = [$"{options.Value.KeyPrefix}:{{dashboard}}:nodes", $"{options.Value.KeyPrefix}:{{dashboard}}:reports"];

    public string NodeId => broker.NodeId;

    public bool SeesCluster => true;

    public async ValueTask<IReadOnlyList<NodeReport>> ExchangeAsync(NodeReport self, CancellationToken cancellationToken)
    {
        var result = await broker.EvalAsync(broker.Home, Exchange, _keys,
            [self.Id, JsonSerializer.Serialize(self, Json), ReportTtlMilliseconds.ToString(CultureInfo.InvariantCulture)], cancellationToken).ConfigureAwait(false);
        return ((RedisResult[])result!).Select(r => JsonSerializer.Deserialize<NodeReport>((string)r!, Json)!).ToArray();
    }
}
