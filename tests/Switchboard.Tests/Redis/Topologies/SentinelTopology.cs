using System.Globalization;
using System.Net.Sockets;
using Switchboard.Tests.Infrastructure;

namespace Switchboard.Tests.Redis.Topologies;

/// <summary>
/// A Sentinel-managed Redis, as Debian ships it: a master, one replica (<c>--replicaof</c>) and three
/// <c>redis-sentinel</c> processes monitoring the master as <see cref="RedisSentinel.ServiceName"/> with
/// a quorum of two. One shard, named by its Sentinels and service: the broker asks them for the master
/// and follows failovers. Ready once the replica's link is up and every Sentinel knows the replica and
/// the two other Sentinels (a failover needs both).
/// </summary>
public sealed class SentinelTopology : RedisTopology
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// What docs/scaling.md asks of a Sentinel-managed master: take a write only while a replica
    /// follows. A master that Sentinel replaced but has not demoted yet (a manual failover leaves it
    /// running for seconds) then refuses writes the moment its replica leaves to become master, instead
    /// of taking publications that its demotion throws away. Given to every server, since any may become master.
    /// </summary>
    private static readonly string[] GuardedWrites = ["--min-replicas-to-write", "1", "--min-replicas-max-lag", "10"];
    private readonly List<RedisSentinel> _sentinels = [];

    /// <summary>The three Sentinels.</summary>
    public IReadOnlyList<RedisSentinel> Sentinels => _sentinels;

    public override IReadOnlyList<string> Shards =>
        [string.Join(",", _sentinels.Select(s => $"127.0.0.1:{s.Port.ToString(CultureInfo.InvariantCulture)}")) + $",serviceName={RedisSentinel.ServiceName},connectTimeout=2000"];

    /// <summary>
    /// A node's settings here: a publication is acknowledged only once the replica holds it
    /// (<c>WaitForReplicas</c>), so that a failover cannot lose one that was acknowledged.
    /// </summary>
    public override Dictionary<string, string?> Settings()
    {
        var settings = base.Settings();
        settings["Switchboard:Redis:WaitForReplicas"] = "1";
        return settings;
    }

    /// <summary>The server the Sentinels name as master now.</summary>
    public async Task<RedisServer> MasterAsync()
    {
        var port = await _sentinels[0].MasterPortAsync() ?? throw new InvalidOperationException("the Sentinel names no master");
        return Servers.Single(s => s.Port == port);
    }

    /// <summary>Empties the master (the replica follows; it refuses writes).</summary>
    public override async Task FlushAsync()
    {
        var master = await MasterAsync();
        Xunit.Assert.Equal("+OK", await master.CommandAsync("FLUSHALL"));
    }

    /// <summary>
    /// Waits until every Sentinel names the server on <paramref name="port"/> as master, and that
    /// server says so itself (<c>role:master</c>): a failover is complete for the clients that ask.
    /// </summary>
    public async Task WaitForMasterAsync(int port, TimeSpan timeout)
    {
        foreach (var sentinel in _sentinels)
        {
            await Eventually.TrueAsync(async () => await NamedMasterAsync(sentinel) == port, $"the Sentinel on port {sentinel.Port} names port {port} as master", timeout);
        }

        var master = Servers.Single(s => s.Port == port);
        await Eventually.TrueAsync(async () => (await ReplicationAsync(master)).Contains("role:master", StringComparison.Ordinal),
            $"the server on port {port} is a master", timeout);
    }

    /// <summary>Waits until the server on <paramref name="port"/> replicates from the current master with its link up (a demoted master, once Sentinel reconfigured it).</summary>
    public async Task WaitForReplicaAsync(int port, TimeSpan timeout)
    {
        var replica = Servers.Single(s => s.Port == port);
        await Eventually.TrueAsync(async () =>
        {
            var replication = await ReplicationAsync(replica);
            return replication.Contains("role:slave", StringComparison.Ordinal) && replication.Contains("master_link_status:up", StringComparison.Ordinal);
        }, $"the server on port {port} replicates with its link up", timeout);
    }

    public override async Task DisposeAsync()
    {
        // The Sentinels first: with the servers gone first they would start failovers on the way out.
        foreach (var sentinel in _sentinels)
        {
            await sentinel.DisposeAsync();
        }

        await base.DisposeAsync();
    }

    protected override async Task StartAsync(List<RedisServer> servers)
    {
        var master = await RedisServer.StartAsync(persistent: true, GuardedWrites);
        servers.Add(master);
        var masterPort = master.Port.ToString(CultureInfo.InvariantCulture);
        var replica = await RedisServer.StartAsync(persistent: true, [.. GuardedWrites, "--replicaof", "127.0.0.1", masterPort]);
        servers.Add(replica);
        try
        {
            await WaitForReplicaAsync(servers, replica);
            for (var i = 0; i < 3; i++)
            {
                _sentinels.Add(await RedisSentinel.StartAsync(master.Port));
            }

            foreach (var sentinel in _sentinels)
            {
                // Sentinels find the replica through the master's INFO and each other through hello
                // messages on the master (every 2 s): until then a failover cannot start.
                await Eventually.TrueAsync(async () => KnowsReplicaAndSentinels(await sentinel.CommandAsync("SENTINEL", "master", RedisSentinel.ServiceName)),
                    $"the Sentinel on port {sentinel.Port} knows the replica and two other Sentinels", ReadyTimeout);
            }
        }
        catch
        {
            // The base class stops the servers of a failed start; the Sentinels are this class's own.
            foreach (var sentinel in _sentinels)
            {
                await sentinel.DisposeAsync();
            }

            _sentinels.Clear();
            throw;
        }
    }

    /// <summary>
    /// The master <paramref name="sentinel"/> names, or null when it did not answer within its command
    /// timeout: seen once in a SIGKILL failover on this loaded 2-core machine (a Sentinel is single-threaded
    /// and rewrites its configuration file at every failover step). The poll asks again; the caller's
    /// deadline bounds the wait.
    /// </summary>
    private static async Task<int?> NamedMasterAsync(RedisSentinel sentinel)
    {
        try
        {
            return await sentinel.MasterPortAsync();
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException)
        {
            return null;
        }
    }

    /// <summary>
    /// <c>INFO replication</c> of <paramref name="server"/>, or nothing when the connection was dropped:
    /// Sentinel ends every reconfiguration of a server (promoted, or made a replica) with
    /// <c>CLIENT KILL TYPE normal</c>, which takes a poll that was in flight with it.
    /// </summary>
    private static async Task<string> ReplicationAsync(RedisServer server)
    {
        try
        {
            return await server.BulkCommandAsync("INFO", "replication");
        }
        catch (Exception ex) when (ex is IOException or SocketException)
        {
            return string.Empty;
        }
    }

    private static Task WaitForReplicaAsync(List<RedisServer> servers, RedisServer replica) =>
        Eventually.TrueAsync(async () => (await replica.BulkCommandAsync("INFO", "replication")).Contains("master_link_status:up", StringComparison.Ordinal),
            $"the replica on port {replica.Port} is in sync with the master on port {servers[0].Port}", ReadyTimeout);

    private static bool KnowsReplicaAndSentinels(IReadOnlyList<string> master)
    {
        string? Field(string name)
        {
            for (var i = 0; i + 1 < master.Count; i += 2)
            {
                if (master[i] == name)
                {
                    return master[i + 1];
                }
            }

            return null;
        }

        return Field("num-slaves") == "1" && Field("num-other-sentinels") == "2" && Field("flags") == "master";
    }
}
