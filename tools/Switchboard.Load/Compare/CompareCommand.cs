using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Switchboard.Load.Cli;
using Switchboard.Load.Metrics;

namespace Switchboard.Load.Compare;

/// <summary>
/// <c>compare</c>: the same scenarios against Switchboard, a bare Kestrel endpoint, a Kestrel
/// ConnectionHandler below HTTP, a SignalR hub,
/// Node's ws and a Go gorilla hub, each started fresh and pinned to the same core, printed as one
/// table of ratios to the Go hub (docs/benchmarks.md, "Side by side").
/// </summary>
internal static class CompareCommand
{
    /// <summary>Exit code when a target did not serve every client of a scenario.</summary>
    public const int NotServed = 1;

    public static Command Create()
    {
        var scenario = new Option<string[]>("--scenario") { Description = $"Scenarios to run: {string.Join(" | ", CompareSettings.AllScenarios)} | all (several allowed).", AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => ["all"] };
        var targets = new Option<string>("--targets") { Description = $"Comma-separated targets: {string.Join(",", PeerTarget.AllNames)}.", DefaultValueFactory = _ => string.Join(",", PeerTarget.AllNames) };
        var duration = new Option<string>("--duration") { Description = "Measured seconds of churn, small-rooms and fanout (e.g. 10 or 10s); a quarter of it, at most 2 s, is warm-up on top.", DefaultValueFactory = _ => "10s" };
        var connectClients = new Option<int>("--connect-clients") { Description = "connect: connections to open (in 100 rooms).", DefaultValueFactory = _ => 5_000 };
        var concurrency = new Option<int>("--connect-concurrency") { Description = "Connection attempts in flight at once.", DefaultValueFactory = _ => 100 };
        var churnConcurrency = new Option<int>("--churn-concurrency") { Description = "churn: workers, each looping connect, echo, close.", DefaultValueFactory = _ => 20 };
        var idle = new Option<string>("--idle-connections") { Description = "idle: comma-separated connection counts, each on a fresh server (the first also measures rooms with one member).", DefaultValueFactory = _ => "10000,18000" };
        var settle = new Option<double>("--idle-settle") { Description = "idle: seconds to hold the connections before reading RSS.", DefaultValueFactory = _ => 3 };
        var smallClients = new Option<int>("--small-rooms-clients") { Description = "small-rooms: clients, in rooms of --room-size.", DefaultValueFactory = _ => 1_000 };
        var roomSize = new Option<int>("--room-size") { Description = "small-rooms: members per room.", DefaultValueFactory = _ => 10 };
        var smallRate = new Option<double>("--small-rooms-rate") { Description = "small-rooms: deliveries per second over all rooms.", DefaultValueFactory = _ => 25_000 };
        var fanout = new Option<string>("--fanout-subscribers") { Description = "fanout: comma-separated subscriber counts, each on a fresh server.", DefaultValueFactory = _ => "1000,10000" };
        var window = new Option<int>("--window") { Description = "fanout: publications out at once (closed loop). Latency is about window / publication rate, so keep it small.", DefaultValueFactory = _ => 4 };
        var payload = new Option<int>("--payload-bytes") { Description = "Size of each message's text.", DefaultValueFactory = _ => 64 };
        var serverCore = new Option<int>("--server-core") { Description = "Core every server is pinned to (taskset).", DefaultValueFactory = _ => 1 };
        var loadCore = new Option<int>("--load-core") { Description = "Core this tool pins itself to.", DefaultValueFactory = _ => 0 };
        var noPin = new Option<bool>("--no-pin") { Description = "Pin neither the servers nor this tool." };
        var repo = new Option<string?>("--repo") { Description = "Repository root (default: found above this tool's directory)." };
        var configuration = new Option<string>("--configuration") { Description = "Build configuration of the .NET servers.", DefaultValueFactory = _ => "Release" };
        var json = new Option<string?>("--json-out") { Description = "Also write the results as JSON here." };
        var command = new Command("compare", "Run the same scenarios against Switchboard and its peers (bare Kestrel, Kestrel below HTTP, SignalR, Node ws, Go gorilla), each started fresh and pinned, and print one table of ratios to the Go hub.")
        {
            scenario, targets, duration, connectClients, concurrency, churnConcurrency, idle, settle, smallClients, roomSize, smallRate, fanout, window, payload, serverCore, loadCore, noPin, repo, configuration, json,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var pin = !parse.GetValue(noPin);
            var (settings, error) = Build(
                parse.GetValue(scenario) ?? ["all"],
                parse.GetValue(targets)!,
                parse.GetValue(duration)!,
                parse.GetValue(idle)!,
                parse.GetValue(fanout)!,
                parse.GetValue(repo),
                s => s with
                {
                    ConnectClients = parse.GetValue(connectClients),
                    ConnectConcurrency = Math.Max(1, parse.GetValue(concurrency)),
                    ChurnConcurrency = Math.Max(1, parse.GetValue(churnConcurrency)),
                    IdleSettle = TimeSpan.FromSeconds(Math.Max(0, parse.GetValue(settle))),
                    SmallRoomsClients = parse.GetValue(smallClients),
                    RoomSize = Math.Max(2, parse.GetValue(roomSize)),
                    SmallRoomsDeliveryRate = Math.Max(1, parse.GetValue(smallRate)),
                    Window = parse.GetValue(window),
                    PayloadBytes = Math.Max(16, parse.GetValue(payload)),
                    ServerCore = pin ? parse.GetValue(serverCore) : null,
                    LoadCore = pin ? parse.GetValue(loadCore) : null,
                    Configuration = parse.GetValue(configuration)!,
                    JsonPath = parse.GetValue(json),
                });
            if (settings is null)
            {
                await Console.Error.WriteLineAsync($"error: {error}");
                return LoadCommand.UsageError;
            }

            settings = PinSelf(settings);
            var loadStart = CpuMeter.LoadAverage();
            var runs = await CompareRun.RunAsync(settings, cancellationToken);
            var machine = MachineInfo.Read(settings.ServerCore, settings.LoadCore, loadStart, CpuMeter.LoadAverage());
            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{machine.Cpu}, {machine.Cores} cores, {machine.Os}, .NET {machine.Runtime}; servers on core {settings.ServerCore?.ToString(CultureInfo.InvariantCulture) ?? "any"}, tool on core {settings.LoadCore?.ToString(CultureInfo.InvariantCulture) ?? "any"}; load average {machine.LoadAverageStart:0.00} -> {machine.LoadAverageEnd:0.00}"));
            Console.WriteLine("Ratios are target / Go hub: above 1 is better for rates (/s), below 1 is better for costs (CPU, memory, latency).");
            Console.WriteLine();
            Console.Write(CompareReport.Table(runs, settings.Targets));
            if (settings.JsonPath is { } path)
            {
                await File.WriteAllTextAsync(path, CompareReport.Json(runs, settings, machine), cancellationToken);
            }

            return runs.All(r => r.Served) ? 0 : NotServed;
        });
        return command;
    }

    private static (CompareSettings? Settings, string? Error) Build(string[] scenarios, string targets, string duration, string idle, string fanout, string? repo, Func<CompareSettings, CompareSettings> rest)
    {
        var scenarioList = scenarios.SelectMany(s => s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
        if (scenarioList.Contains("all"))
        {
            scenarioList = [.. CompareSettings.AllScenarios];
        }

        if (scenarioList.FirstOrDefault(s => !CompareSettings.AllScenarios.Contains(s)) is { } unknownScenario)
        {
            return (null, $"unknown scenario '{unknownScenario}' (known: {string.Join(", ", CompareSettings.AllScenarios)}, all)");
        }

        var targetList = targets.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct().ToList();
        if (targetList.Count == 0 || targetList.Any(t => !PeerTarget.AllNames.Contains(t)))
        {
            return (null, $"--targets must name some of {string.Join(", ", PeerTarget.AllNames)}");
        }

        if (!double.TryParse(duration.TrimEnd('s'), NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || seconds <= 0)
        {
            return (null, $"--duration '{duration}' is not a number of seconds");
        }

        if (!TryCounts(idle, out var idleCounts) || !TryCounts(fanout, out var fanoutCounts))
        {
            return (null, "--idle-connections and --fanout-subscribers take comma-separated positive counts");
        }

        var root = repo ?? FindRepoRoot();
        if (root is null || !File.Exists(Path.Combine(root, "Switchboard.slnx")))
        {
            return (null, "cannot find the repository root (Switchboard.slnx); pass --repo");
        }

        var settings = rest(new CompareSettings(
            scenarioList, targetList, TimeSpan.FromSeconds(seconds), 0, 100, 20, idleCounts, TimeSpan.FromSeconds(3), 1_000, 10, 25_000, fanoutCounts, 4, 64, null, null, root, "Release", null));
        var largest = new[] { settings.ConnectClients, settings.SmallRoomsClients, idleCounts.Max(), fanoutCounts.Max() + 1 }.Max();
        if (largest > CompareSettings.MaxClientsPerProcess)
        {
            return (null, $"{largest:N0} connections do not fit in one process of this tool (at most {CompareSettings.MaxClientsPerProcess:N0}: 20,000 open files per process)");
        }

        if (settings.ConnectClients <= 0 || settings.SmallRoomsClients < settings.RoomSize || settings.Window is <= 0 or >= 2048)
        {
            return (null, "--connect-clients must be positive, --small-rooms-clients at least --room-size, and --window between 1 and 2047");
        }

        return (settings, null);
    }

    private static bool TryCounts(string text, out IReadOnlyList<int> counts)
    {
        var parsed = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out var count) || count <= 0)
            {
                counts = [];
                return false;
            }

            parsed.Add(count);
        }

        counts = parsed;
        return parsed.Count > 0;
    }

    private static string? FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Switchboard.slnx")))
            {
                return dir.FullName;
            }
        }

        return null;
    }

    /// <summary>Pins this process to the load core; without taskset the servers run unpinned, and the table says so.</summary>
    private static CompareSettings PinSelf(CompareSettings settings)
    {
        if (settings.LoadCore is { } core && OperatingSystem.IsLinux())
        {
            using var self = Process.GetCurrentProcess();
            self.ProcessorAffinity = 1 << core;
        }

        if (settings.ServerCore is not null && !File.Exists("/usr/bin/taskset") && !File.Exists("/bin/taskset"))
        {
            Console.Error.WriteLine("warning: taskset not found; the servers run unpinned");
            return settings with { ServerCore = null };
        }

        return settings;
    }
}
