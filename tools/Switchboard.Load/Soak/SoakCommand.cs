using System.CommandLine;
using System.Globalization;
using Switchboard.Load.Cli;

namespace Switchboard.Load.Soak;

/// <summary><c>soak</c>: hours of mixed traffic against one server, and whether anything grows.</summary>
internal static class SoakCommand
{
    /// <summary>Exit code of a soak whose verdict is FAIL.</summary>
    public const int Failed = 1;

    public static Command Create()
    {
        var url = new Option<string>("--url") { Description = "Server WebSocket endpoint (loopback only); the HTTP API and /metrics are read from the same host.", DefaultValueFactory = _ => "ws://127.0.0.1:8080/ws" };
        var clients = new Option<int>("--clients") { Description = "Well-behaved members, each in one room (one process holds at most ~19,000).", DefaultValueFactory = _ => 1_000 };
        var rooms = new Option<int>("--rooms") { Description = "Rooms the members are spread over.", DefaultValueFactory = _ => 100 };
        var rate = new Option<double>("--rate") { Description = "Publications per second through the HTTP API, over all rooms in turn.", DefaultValueFactory = _ => 100 };
        var duration = new Option<double>("--duration") { Description = "Seconds of traffic before everyone leaves.", DefaultValueFactory = _ => 3_600 };
        var serverPid = new Option<int>("--server-pid") { Description = "The server's process id, to read its memory, open files and threads from /proc.", Required = true };
        var churn = new Option<double>("--churn-percent") { Description = "Members that drop (half without a close frame) and rejoin with since, per minute, in percent.", DefaultValueFactory = _ => 10 };
        var hostile = new Option<double>("--hostile-percent") { Description = "Hostile clients (floods, garbage, stalled readers) beside the members, in percent of --clients.", DefaultValueFactory = _ => 2 };
        var sample = new Option<double>("--sample-seconds") { Description = "Seconds between samples of the server.", DefaultValueFactory = _ => 10 };
        var chart = new Option<string?>("--chart") { Description = "Write an HTML page with a chart of every series here." };
        var json = new Option<string?>("--json-out") { Description = "Write the report as JSON here." };
        var apiKey = new Option<string?>("--api-key") { Description = "X-Api-Key for the HTTP API (not needed in Development)." };
        var command = new Command("soak", "Soak a server: members in rooms reading everything, a backend publishing, churn with recovery and hostile clients for --duration, sampling the server's memory, open files, threads, connections, rooms and queues; prints each series' slope and checks that everything returns to its baseline after everyone leaves.")
        {
            url, clients, rooms, rate, duration, serverPid, churn, hostile, sample, chart, json, apiKey,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (!Uri.TryCreate(parse.GetValue(url), UriKind.Absolute, out var target) || target.Scheme is not ("ws" or "wss"))
            {
                await Console.Error.WriteLineAsync("error: --url must be an absolute ws:// URL");
                return LoadCommand.UsageError;
            }

            var (address, error) = await LoopbackGuard.ResolveTargetAsync(target, cancellationToken);
            if (address is null)
            {
                await Console.Error.WriteLineAsync($"error: {error}");
                return LoadCommand.UsageError;
            }

            var settings = new SoakSettings(
                target,
                new UriBuilder(target) { Scheme = target.Scheme == "wss" ? "https" : "http", Path = "/", Query = "" }.Uri,
                Math.Max(1, parse.GetValue(clients)),
                Math.Max(1, parse.GetValue(rooms)),
                Math.Max(0, parse.GetValue(rate)),
                TimeSpan.FromSeconds(Math.Max(1, parse.GetValue(duration))),
                parse.GetValue(serverPid),
                Math.Clamp(parse.GetValue(churn), 0, 100),
                Math.Clamp(parse.GetValue(hostile), 0, 100),
                TimeSpan.FromSeconds(Math.Max(1, parse.GetValue(sample))),
                parse.GetValue(chart),
                parse.GetValue(apiKey),
                ConnectConcurrency: 100);
            var report = await new SoakRun(settings).RunAsync(cancellationToken);
            report.Print(Console.Out);
            if (parse.GetValue(json) is { } jsonPath)
            {
                await File.WriteAllTextAsync(jsonPath, report.ToJson(), cancellationToken);
            }

            if (settings.ChartPath is { } chartPath)
            {
                var title = string.Create(CultureInfo.InvariantCulture, $"Switchboard soak: {settings.Clients:N0} members in {settings.Rooms:N0} rooms, {settings.PublishRate:N0} publications/s, {settings.ChurnPercentPerMinute}%/min churn, {settings.HostilePercent}% hostile, {settings.Duration.TotalMinutes:F0} min");
                await File.WriteAllTextAsync(chartPath, report.ToHtml(title), cancellationToken);
            }

            return report.Problems.Count == 0 ? 0 : Failed;
        });
        return command;
    }
}
