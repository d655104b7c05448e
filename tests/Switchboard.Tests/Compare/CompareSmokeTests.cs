using System.Text.Json;
using Xunit;
using Xunit.Abstractions;

namespace Switchboard.Tests.Compare;

/// <summary>
/// A short run of the load tool's <c>compare</c> mode: every scenario against every peer
/// (Switchboard, bare Kestrel, Kestrel below HTTP, SignalR, Node ws, the Go gorilla hub), each a real server process
/// started fresh. It asserts counts, never times: each scenario ran on each target, the target
/// took every connection asked of it, and messages were delivered. Needs the peers built
/// (scripts/test.sh runs bench/peers/build.sh after the solution build).
/// </summary>
[Trait("Category", "external")]
public sealed class CompareSmokeTests(ITestOutputHelper output)
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(4);
    private static readonly string[] Scenarios = ["connect", "churn", "idle", "small-rooms", "fanout"];
    private static readonly string[] Targets = ["switchboard", "kestrel", "kestrel-conn", "signalr", "node", "go"];

    [Fact]
    public async Task EveryScenarioRunsAgainstEveryPeerAndEachServesAllItsClients()
    {
        var repo = RepoRoot();
        Assert.True(File.Exists(Path.Combine(repo, "bench", "peers", "go", "bin", "gohub")), "the Go peer is built (bench/peers/build.sh)");
        Assert.True(Directory.Exists(Path.Combine(repo, "bench", "peers", "node", "node_modules", "ws")), "the Node peer's ws is installed (bench/peers/build.sh)");
        var report = Path.Combine(Path.GetTempPath(), $"switchboard-compare-{Guid.NewGuid():N}.json");
        try
        {
            var (exit, _) = await CompareProcess.RunAsync(output, RunTimeout,
                "--scenario", "all", "--duration", "1s", "--connect-clients", "100", "--connect-concurrency", "20",
                "--churn-concurrency", "4", "--idle-connections", "100", "--idle-settle", "0", "--small-rooms-clients", "50",
                "--small-rooms-rate", "1000", "--fanout-subscribers", "50", "--json-out", report);

            using var json = JsonDocument.Parse(await File.ReadAllTextAsync(report));
            var runs = json.RootElement.GetProperty("runs").EnumerateArray().ToList();
            var expected = Scenarios.SelectMany(s => Targets.Select(t => (s, t)));
            Assert.Equal(expected, runs.Select(r => (r.GetProperty("scenario").GetString()!, r.GetProperty("target").GetString()!)));
            foreach (var run in runs)
            {
                var name = $"{run.GetProperty("scenario").GetString()} on {run.GetProperty("target").GetString()}";
                Assert.True(run.GetProperty("problems").GetArrayLength() == 0, $"{name}: {run.GetProperty("problems")}");
                Assert.True(run.GetProperty("connectionsAsked").GetInt64() > 0, $"{name} asked for connections");
                Assert.True(run.GetProperty("connections").GetInt64() == run.GetProperty("connectionsAsked").GetInt64(), $"{name} reached every connection it asked for");
                Assert.True(run.GetProperty("deliveries").GetInt64() > 0, $"{name} delivered messages");
                Assert.True(run.GetProperty("served").GetBoolean(), $"{name} served every client");
                Assert.NotEmpty(run.GetProperty("figures").EnumerateObject());
            }

            Assert.Equal(0, exit);
        }
        finally
        {
            File.Delete(report);
        }
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Switchboard.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("the repository root (Switchboard.slnx) is not above the test's directory");
    }
}
