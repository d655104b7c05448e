using System.Diagnostics;
using System.Globalization;
using Switchboard.Tests.Infrastructure;

namespace Switchboard.Tests.Redis.Topologies;

/// <summary>
/// A real Redis Cluster of three masters and no replicas: three <c>redis-server --cluster-enabled yes</c>
/// on free 127.0.0.1 ports, joined by <c>redis-cli --cluster create</c>; ready once every master reports
/// <c>cluster_state:ok</c>. One shard: the broker finds the masters and their slots by itself.
/// </summary>
public sealed class ClusterTopology : RedisTopology
{
    private const int Masters = 3;
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);

    public override IReadOnlyList<string> Shards =>
        [string.Join(",", Servers.Select(s => $"127.0.0.1:{s.Port.ToString(CultureInfo.InvariantCulture)}")) + ",connectTimeout=2000"];

    /// <summary>Restarts every master (each keeps its slots in its cluster config file) and waits until the cluster serves again.</summary>
    public override async Task RestartAsync()
    {
        await base.RestartAsync();
        await WaitUntilOkAsync(Servers);
    }

    protected override async Task StartAsync(List<RedisServer> servers)
    {
        for (var i = 0; i < Masters; i++)
        {
            // The cluster bus port is given rather than left at port + 10000, which can pass 65535.
            servers.Add(await RedisServer.StartAsync(persistent: true,
            [
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000",
                "--cluster-port", FreePorts.Next().ToString(CultureInfo.InvariantCulture),
            ]));
        }

        await CreateAsync(servers);
        await WaitUntilOkAsync(servers);
    }

    private static async Task CreateAsync(List<RedisServer> servers)
    {
        var info = new ProcessStartInfo("redis-cli") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("--cluster");
        info.ArgumentList.Add("create");
        foreach (var server in servers)
        {
            info.ArgumentList.Add($"127.0.0.1:{server.Port.ToString(CultureInfo.InvariantCulture)}");
        }

        foreach (var arg in new[] { "--cluster-replicas", "0", "--cluster-yes" })
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(ReadyTimeout);
        }
        catch (TimeoutException)
        {
            process.Kill();
            throw;
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"redis-cli --cluster create failed ({process.ExitCode}):\n{await output}\n{await error}");
        }
    }

    private static async Task WaitUntilOkAsync(IReadOnlyList<RedisServer> servers)
    {
        foreach (var server in servers)
        {
            await Eventually.TrueAsync(async () => (await server.BulkCommandAsync("CLUSTER", "INFO")).Contains("cluster_state:ok", StringComparison.Ordinal),
                $"the master on port {server.Port} reports cluster_state:ok", ReadyTimeout);
        }
    }
}
