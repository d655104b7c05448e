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
        command.Subcommands.Add(BigRoomCommand(redis));
        command.Subcommands.Add(DispatchCommand(redis));
        command.Subcommands.Add(MembersCommand());
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

    private static Command BigRoomCommand(Option<string?> redis)
    {
        var members = new Option<int>("--members") { Description = "Members of the big room (in a child process).", DefaultValueFactory = _ => 10_000 };
        var bigRate = new Option<int>("--big-rate") { Description = "Publications per second to the big room.", DefaultValueFactory = _ => 1000 };
        var smallRate = new Option<int>("--small-rate") { Description = "Publications per second to the small room (one member, timed).", DefaultValueFactory = _ => 100 };
        var warmup = new Option<double>("--warmup-seconds") { Description = "Seconds of load before the small room is timed.", DefaultValueFactory = _ => 3 };
        var seconds = new Option<double>("--seconds") { Description = "Seconds the small room is timed.", DefaultValueFactory = _ => 15 };
        var command = new Command("big-room", "A small room's latency on a node whose big room takes a fixed publication rate; publishers on another node, so everything crosses Redis.")
        {
            members, bigRate, smallRate, warmup, seconds,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            await using var server = result.GetValue(redis) is { } ? null : await LocalRedis.StartAsync(cancellationToken);
            var connection = result.GetValue(redis) ?? server!.Configuration;
            var load = File.Exists("/proc/loadavg") ? (await File.ReadAllTextAsync("/proc/loadavg", cancellationToken)).Split(' ')[0] : "?";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Environment.ProcessorCount} cores, load average {load}; Redis {connection}"));
            var lines = await BigRoomRun.RunAsync(connection, result.GetValue(members), result.GetValue(bigRate), result.GetValue(smallRate),
                TimeSpan.FromSeconds(result.GetValue(warmup)), TimeSpan.FromSeconds(result.GetValue(seconds)), cancellationToken);
            Console.WriteLine(lines[0]);
            Console.WriteLine();
            Console.WriteLine("| load | timed | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | received |");
            Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
            Console.WriteLine(lines[1]);
            return 0;
        });
        return command;
    }

    private static Command DispatchCommand(Option<string?> redis)
    {
        var members = new Option<int>("--members") { Description = "Members of the big room (bounded queues in node A).", DefaultValueFactory = _ => 10_000 };
        var bigRates = new Option<int[]>("--big-rates") { Description = "Publication rates of the big room, one run each.", DefaultValueFactory = _ => [100, 1000], AllowMultipleArgumentsPerToken = true };
        var smallRate = new Option<int>("--small-rate") { Description = "Publications per second to the small room (timed).", DefaultValueFactory = _ => 100 };
        var warmup = new Option<double>("--warmup-seconds") { DefaultValueFactory = _ => 2 };
        var seconds = new Option<double>("--seconds") { DefaultValueFactory = _ => 10 };
        var command = new Command("dispatch", "A small room's delivery latency inside a node whose big room takes a fixed rate by pub/sub (broker dispatch only, no sockets).")
        {
            members, bigRates, smallRate, warmup, seconds,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            await using var server = result.GetValue(redis) is { } ? null : await LocalRedis.StartAsync(cancellationToken);
            var connection = result.GetValue(redis) ?? server!.Configuration;
            var load = File.Exists("/proc/loadavg") ? (await File.ReadAllTextAsync("/proc/loadavg", cancellationToken)).Split(' ')[0] : "?";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Environment.ProcessorCount} cores, load average {load}; Redis {connection}"));
            Console.WriteLine("| big room | big room delivered | small room | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | received |");
            Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
            foreach (var rate in result.GetValue(bigRates)!)
            {
                Console.WriteLine(await DispatchRun.RunAsync(connection, result.GetValue(members), rate, result.GetValue(smallRate),
                    TimeSpan.FromSeconds(result.GetValue(warmup)), TimeSpan.FromSeconds(result.GetValue(seconds)), cancellationToken));
            }

            return 0;
        });
        return command;
    }

    private static Command MembersCommand()
    {
        var url = new Option<string>("--url") { Required = true };
        var count = new Option<int>("--count") { Required = true };
        var room = new Option<string>("--room") { Required = true };
        var command = new Command("members", "Internal: the big room's members for big-room, in their own process.") { url, count, room };
        command.Hidden = true;
        command.SetAction((result, cancellationToken) => MembersProcess.RunAsync(new Uri(result.GetValue(url)!), result.GetValue(room)!, result.GetValue(count), cancellationToken));
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
