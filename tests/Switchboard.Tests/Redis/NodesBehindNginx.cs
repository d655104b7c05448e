using Switchboard.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Switchboard.Tests.Redis;

/// <summary>
/// Node processes of the shipped host on one Redis of their own (without persistence, so a restart
/// comes back empty) behind a real nginx running the shipped
/// configuration, for the end-to-end suites (<see cref="LoadBalancerTests"/>, <see cref="ChaosTests"/>).
/// Every node is open to test clients (<c>?user=</c>, every room, the API without a key), and nginx
/// gets a node only once it answers <c>/readyz</c>, as a load balancer's health check would have it.
/// </summary>
internal sealed class NodesBehindNginx : IAsyncDisposable
{
    private readonly ServerProcess?[] _nodes;

    private NodesBehindNginx(RedisServer redis, ServerProcess?[] nodes, Uri[] addresses, NginxServer nginx)
    {
        Redis = redis;
        _nodes = nodes;
        Addresses = addresses;
        Nginx = nginx;
    }

    /// <summary>The nodes' Redis, for faults (kill, restart, <c>CLIENT KILL</c>).</summary>
    public RedisServer Redis { get; }

    /// <summary>Each node's own base address (for reading one node's state), in start order.</summary>
    public Uri[] Addresses { get; }

    public NginxServer Nginx { get; }

    /// <summary>
    /// Starts a Redis and <paramref name="count"/> nodes on it with <paramref name="settings"/> beside the
    /// test settings (environment names, <c>Switchboard__...</c>). A node that does not start has every
    /// node's output written to <paramref name="output"/>; nothing started outlives a failure (xUnit does
    /// not dispose a test whose initialization failed).
    /// </summary>
    public static async Task<NodesBehindNginx> StartAsync(int count, ITestOutputHelper output, IReadOnlyDictionary<string, string>? settings = null)
    {
        var redis = await RedisServer.StartAsync();
        try
        {
            return await StartNodesAsync(redis, count, output, settings);
        }
        catch
        {
            await redis.DisposeAsync();
            throw;
        }
    }

    private static async Task<NodesBehindNginx> StartNodesAsync(RedisServer redis, int count, ITestOutputHelper output, IReadOnlyDictionary<string, string>? settings)
    {
        var environment = RedisNodes.Environment(redis);
        environment["Switchboard__Auth__AllowQueryUser"] = "true";
        environment["Switchboard__Api__AllowWithoutKey"] = "true";
        environment["Switchboard__Rooms__AllowAll"] = "true";
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        var nodes = Enumerable.Range(0, count).Select(_ => (ServerProcess?)ServerProcess.Start(environment)).ToArray();
        try
        {
            Uri[] addresses;
            try
            {
                addresses = await Task.WhenAll(nodes.Select(n => n!.WaitForListeningAsync()));
            }
            catch (TimeoutException)
            {
                output.WriteLine(string.Join("\n-----\n", nodes.Select(n => n!.Output)));
                throw;
            }

            // "Listening" comes before the node has reached Redis and served a request.
            await Task.WhenAll(addresses.Select(ServerProcess.WaitForReadyAsync));
            return new NodesBehindNginx(redis, nodes, addresses, await NginxServer.StartAsync(addresses));
        }
        catch
        {
            await DisposeAllAsync(nodes);
            throw;
        }
    }

    /// <summary>Kills node <paramref name="index"/> with SIGKILL: no drain, no goodbye to Redis.</summary>
    public async Task KillAsync(int index)
    {
        if (_nodes[index] is { } node)
        {
            _nodes[index] = null;
            await node.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Nginx.DisposeAsync();
        await DisposeAllAsync(_nodes);
        await Redis.DisposeAsync();
    }

    private static async Task DisposeAllAsync(ServerProcess?[] nodes)
    {
        foreach (var node in nodes)
        {
            if (node is not null)
            {
                await node.DisposeAsync();
            }
        }
    }
}
