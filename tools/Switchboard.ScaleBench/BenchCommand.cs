using System.CommandLine;
using System.Globalization;

namespace Switchboard.ScaleBench;

/// <summary>
/// The command line: measures publication-to-delivery latency for a member on the publisher's node
/// and for a member on another node, first on the in-memory broker (one node, the baseline), then
/// on Redis. Figures only; nothing is asserted (timing never gates CI).
/// </summary>
internal static class BenchCommand
{
    public static RootCommand Create()
    {
        var messages = new Option<int>("--messages") { Description = "Publications measured per run (after the warm-up).", DefaultValueFactory = _ => 5000 };
        var rate = new Option<int>("--rate") { Description = "Publications per second.", DefaultValueFactory = _ => 1000 };
        var warmup = new Option<int>("--warmup") { Description = "Publications sent first and not measured.", DefaultValueFactory = _ => 1000 };
        var closedLoop = new Option<double>("--closed-loop-seconds") { Description = "Then measure one connection publishing closed loop (reply before the next) for this long per broker; 0 skips.", DefaultValueFactory = _ => 3 };
        var redis = new Option<string?>("--redis") { Description = "Redis to use (StackExchange.Redis connection string, loopback only); default: start redis-server on a free port.", Recursive = true };
        var command = new RootCommand("Switchboard cross-node latency: publisher on node A, members on A and on B.")
        {
            messages, rate, warmup, closedLoop, redis,
        };
        command.Subcommands.Add(IdleRoomsCommand(redis));
        command.SetAction(async (result, cancellationToken) =>
        {
            var settings = new BenchSettings(result.GetValue(messages), result.GetValue(rate), result.GetValue(warmup));
            await using var server = result.GetValue(redis) is { } configuration ? null : await LocalRedis.StartAsync(cancellationToken);
            var connection = result.GetValue(redis) ?? server!.Configuration;
            // Other work on the machine shows up as latency in an open-loop run: the load is printed with the figures.
            var load = File.Exists("/proc/loadavg") ? (await File.ReadAllTextAsync("/proc/loadavg", cancellationToken)).Split(' ')[0] : "?";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{settings.Messages} publications at {settings.Rate}/s after {settings.Warmup} warm-up; {Environment.ProcessorCount} cores, load average {load}; Redis {connection}"));
            Console.WriteLine();
            Console.WriteLine("| broker | member | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | received |");
            Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
            foreach (var line in await LatencyRun.RunAsync(settings, redis: null, cancellationToken))
            {
                Console.WriteLine(line);
            }

            foreach (var line in await LatencyRun.RunAsync(settings, connection, cancellationToken))
            {
                Console.WriteLine(line);
            }

            if (result.GetValue(closedLoop) is > 0 and var seconds)
            {
                Console.WriteLine();
                Console.WriteLine("| broker | publishes/s, one connection | p50 ms | p99 ms |");
                Console.WriteLine("| --- | --- | --- | --- |");
                Console.WriteLine(await ClosedLoopRun.RunAsync(TimeSpan.FromSeconds(seconds), redis: null, cancellationToken));
                Console.WriteLine(await ClosedLoopRun.RunAsync(TimeSpan.FromSeconds(seconds), connection, cancellationToken));
            }

            return 0;
        });
        return command;
    }

    private static Command IdleRoomsCommand(Option<string?> redis)
    {
        var rooms = new Option<int>("--rooms") { Description = "Idle rooms, one member each.", DefaultValueFactory = _ => 50_000 };
        var nodes = new Option<int>("--nodes") { Description = "Broker nodes in this process sharing the rooms.", DefaultValueFactory = _ => 2 };
        var seconds = new Option<double>("--seconds") { Description = "How long the idle rooms are measured.", DefaultValueFactory = _ => 30 };
        var command = new Command("idle-rooms", "Redis commands per second that idle rooms cost (INFO commandstats), with the default presence settings.")
        {
            rooms, nodes, seconds,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            await using var server = result.GetValue(redis) is { } ? null : await LocalRedis.StartAsync(cancellationToken);
            var connection = result.GetValue(redis) ?? server!.Configuration;
            Console.WriteLine("| rooms | nodes | Redis commands/s | scripts/s | busiest commands /s |");
            Console.WriteLine("| --- | --- | --- | --- | --- |");
            foreach (var line in await IdleRoomsRun.RunAsync(connection, result.GetValue(nodes), result.GetValue(rooms), TimeSpan.FromSeconds(result.GetValue(seconds)), cancellationToken))
            {
                Console.WriteLine(line);
            }

            return 0;
        });
        return command;
    }
}

/// <summary>How much to publish and how fast.</summary>
internal sealed record BenchSettings(int Messages, int Rate, int Warmup);
