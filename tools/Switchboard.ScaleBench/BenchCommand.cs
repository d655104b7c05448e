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
        command.Subcommands.Add(ScaleOutCommand());
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

    private static Command ScaleOutCommand()
    {
        var nodes = new Option<int[]>("--nodes") { Description = "Node counts, one run each (a fresh Redis and fresh nodes for each).", DefaultValueFactory = _ => [1, 2, 3], AllowMultipleArgumentsPerToken = true };
        var members = new Option<int>("--members") { Description = "Members for the fan-out (in a child process, through nginx).", DefaultValueFactory = _ => 3000 };
        var roomSize = new Option<int>("--room-size") { Description = "Members per room in the fan-out.", DefaultValueFactory = _ => 100 };
        var publishers = new Option<int>("--publishers") { Description = "Publisher connections (through nginx).", DefaultValueFactory = _ => 32 };
        var rates = new Option<int[]>("--rates") { Description = "Publications per second offered in the fan-out, one step each, lowest first.", DefaultValueFactory = _ => [100, 200, 400, 800], AllowMultipleArgumentsPerToken = true };
        var seconds = new Option<double>("--seconds") { Description = "Length of each step.", DefaultValueFactory = _ => 10 };
        var server = new Option<string?>("--server") { Description = "Switchboard.Server.dll (default: this repository's Release build)." };
        var command = new Command("scale-out", "N node processes on one Redis behind nginx: publications/s with many publishers, and fan-out deliveries/s, with each process's CPU.")
        {
            nodes, members, roomSize, publishers, rates, seconds, server,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var serverDll = NodeProcess.FindServer(result.GetValue(server));
            var settings = new ScaleOutSettings(result.GetValue(members), result.GetValue(roomSize), result.GetValue(publishers), result.GetValue(rates)!, TimeSpan.FromSeconds(result.GetValue(seconds)));
            var load = File.Exists("/proc/loadavg") ? (await File.ReadAllTextAsync("/proc/loadavg", cancellationToken)).Split(' ')[0] : "?";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Environment.ProcessorCount} cores, load average {load}; {serverDll}"));
            var publishes = new List<string>();
            var fanOut = new List<string>();
            foreach (var count in result.GetValue(nodes)!)
            {
                await using var redis = await LocalRedis.StartAsync(cancellationToken);
                await ScaleOutRun.RunAsync(settings, serverDll, new LocalRedisHandle(redis.Configuration, redis.Pid), count,
                    line => { Console.WriteLine(line); (line.Split('|').Length == 10 ? publishes : fanOut).Add(line); }, cancellationToken);
            }

            Console.WriteLine();
            Console.WriteLine("CPU columns: % of one core per node process (+), then nginx / Redis, over the step.");
            Console.WriteLine();
            Console.WriteLine("| nodes | publishers | publishes/s | p50 ms | p99 ms | CPU % nodes / nginx / redis | node CPU µs per publish | Redis CPU µs per publish |");
            Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
            publishes.ForEach(Console.WriteLine);
            Console.WriteLine();
            Console.WriteLine("| nodes | rooms | publications/s offered | deliveries/s offered | deliveries/s received | received | cut off | CPU % nodes / nginx / redis | node CPU µs per delivery |");
            Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
            fanOut.ForEach(Console.WriteLine);
            return 0;
        });
        return command;
    }

    private static Command MembersCommand()
    {
        var url = new Option<string>("--url") { Required = true };
        var count = new Option<int>("--count") { Required = true };
        var room = new Option<string>("--room") { Required = true };
        var rooms = new Option<int>("--rooms") { DefaultValueFactory = _ => 1 };
        var command = new Command("members", "Internal: the members of big-room and scale-out, in their own process.") { url, count, room, rooms };
        command.Hidden = true;
        command.SetAction((result, cancellationToken) => MembersProcess.RunAsync(new Uri(result.GetValue(url)!), result.GetValue(room)!, result.GetValue(count), result.GetValue(rooms), cancellationToken));
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
