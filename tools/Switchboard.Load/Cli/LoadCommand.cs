using System.CommandLine;
using System.Globalization;
using System.Net;

namespace Switchboard.Load.Cli;

/// <summary>The command line: option definitions, defaults per mode, and validation into <see cref="LoadOptions"/>.</summary>
internal static class LoadCommand
{
    /// <summary>Exit code for a run that could not start: bad options or a refused target.</summary>
    public const int UsageError = 2;

    /// <summary>Builds the root command; <paramref name="rawArgs"/> are kept to relaunch worker processes.</summary>
    public static RootCommand Create(string[] rawArgs)
    {
        var url = new Option<string>("--url") { Description = "Server WebSocket endpoint (loopback only).", DefaultValueFactory = _ => "ws://127.0.0.1:8080/ws" };
        var mode = new Option<LoadMode>("--mode") { Description = "fanout | latency | connect | idle.", DefaultValueFactory = _ => LoadMode.Fanout };
        var clients = new Option<int?>("--clients") { Description = "Connections over all processes (fanout/connect/idle: 10000, latency: 1000). Publishers are extra." };
        var publishers = new Option<int>("--publishers") { Description = "Publishing connections (fanout/latency); each is a room member too.", DefaultValueFactory = _ => 1 };
        var rate = new Option<double?>("--rate") { Description = "Publications per second over all publishers. Fanout: 0 = closed loop bounded by --window (default). Latency: default 50." };
        var duration = new Option<double>("--duration") { Description = "Seconds to measure (idle: seconds to hold and sample RSS).", DefaultValueFactory = _ => 10 };
        var warmup = new Option<double>("--warmup") { Description = "Seconds of publishing before measuring (fanout/latency).", DefaultValueFactory = _ => 2 };
        var payload = new Option<int>("--payload-bytes") { Description = "Approximate size of each publication's data JSON (at least 32).", DefaultValueFactory = _ => 64 };
        var room = new Option<string>("--room") { Description = "Room name (idle with --rooms > 1: prefix).", DefaultValueFactory = _ => "bench" };
        var rooms = new Option<int>("--rooms") { Description = "Idle mode: spread connections over this many rooms.", DefaultValueFactory = _ => 1 };
        var serverPid = new Option<int?>("--server-pid") { Description = "Server process id, to read its VmRSS from /proc (required for idle)." };
        var concurrency = new Option<int>("--connect-concurrency") { Description = "Connection attempts in flight at once, per process.", DefaultValueFactory = _ => 100 };
        var window = new Option<int>("--window") { Description = "Closed-loop fanout: most publications in flight (published, not yet delivered to every member).", DefaultValueFactory = _ => 256 };
        var drain = new Option<double>("--drain-timeout") { Description = "Seconds members may take to receive the last publication after publishing stops.", DefaultValueFactory = _ => 15 };
        var processes = new Option<int>("--processes") { Description = "Spread the clients over this many processes of this tool (each holds at most ~19,000 sockets).", DefaultValueFactory = _ => 1 };
        var sources = new Option<string[]>("--source-address") { Description = "Loopback source address(es) to bind, round-robin (e.g. 127.0.0.2), for more than ~28,000 connections to one server port.", AllowMultipleArgumentsPerToken = true };
        var users = new Option<int>("--users") { Description = "Spread the clients over this many user ids (dev identity, ?user=), round-robin; 0 = one user per connection. Fewer users, fewer presence events; the server allows Limits:MaxConnectionsPerUser (100) per user.", DefaultValueFactory = _ => 0 };
        var warmupConnections = new Option<int>("--warmup-connections") { Description = "Connect/idle: open and close this many connections before measuring (warms the server's JIT and pools).", DefaultValueFactory = _ => 1_000 };
        var deflate = new Option<bool>("--deflate") { Description = "Offer permessage-deflate on every connection, as a browser does; the server accepts with Switchboard:Compression:Enabled." };
        var chat = new Option<bool>("--chat-payload") { Description = "Fanout/latency: publish chat-like text (words from a small vocabulary, a user id) instead of one repeated letter; for compression ratios." };
        var prime = new Option<int>("--prime-bytes") { Description = "Idle: after joining, publish one message of about this many bytes to each room, so every connection has compressed once.", DefaultValueFactory = _ => 0 };
        var json = new Option<bool>("--json") { Description = "Also print the merged result as one JSON line." };
        var minThroughput = new Option<double?>("--min-throughput") { Description = "Budget: fail if fanout/latency deliveries per second are below this." };
        var maxP99 = new Option<double?>("--max-p99-ms") { Description = "Budget: fail if the p99 delivery latency exceeds this many milliseconds." };
        var minConnectRate = new Option<double?>("--min-connect-rate") { Description = "Budget: fail if connect mode opens fewer connections per second." };
        var maxBytes = new Option<double?>("--max-bytes-per-connection") { Description = "Budget: fail if idle mode measures more server RSS bytes per connection." };
        var workerIndex = new Option<int>("--worker-index") { Hidden = true, DefaultValueFactory = _ => 0 };

        var root = new RootCommand("Switchboard load tool: fan-out throughput, delivery latency, connect rate and idle memory of a Switchboard server on this machine.")
        {
            url, mode, clients, publishers, rate, duration, warmup, payload, room, rooms, serverPid, concurrency, window,
            drain, processes, sources, users, warmupConnections, deflate, chat, prime, json, minThroughput, maxP99, minConnectRate, maxBytes, workerIndex,
            Soak.SoakCommand.Create(),
            Soak.SoakReportCommand.Create(),
            Compare.CompareCommand.Create(),
        };

        root.SetAction(async (parse, cancellationToken) =>
        {
            var selectedMode = parse.GetValue(mode);
            var raw = new RawValues(
                parse.GetValue(url)!,
                selectedMode,
                parse.GetValue(clients) ?? (selectedMode == LoadMode.Latency ? 1_000 : 10_000),
                parse.GetValue(publishers),
                parse.GetValue(rate) ?? (selectedMode == LoadMode.Latency ? 50 : 0),
                parse.GetValue(duration),
                parse.GetValue(warmup),
                parse.GetValue(payload),
                parse.GetValue(room)!,
                parse.GetValue(rooms),
                parse.GetValue(serverPid),
                parse.GetValue(concurrency),
                parse.GetValue(window),
                parse.GetValue(drain),
                parse.GetValue(processes),
                parse.GetValue(workerIndex),
                parse.GetValue(sources) ?? [],
                parse.GetValue(users));

            var (options, error) = await BuildAsync(raw, cancellationToken);
            if (options is null)
            {
                await Console.Error.WriteLineAsync($"error: {error}");
                return UsageError;
            }

            options = options with
            {
                Json = parse.GetValue(json),
                Deflate = parse.GetValue(deflate),
                ChatPayload = parse.GetValue(chat),
                PrimeBytes = Math.Max(0, parse.GetValue(prime)),
                Users = parse.GetValue(users),
                WarmupConnections = Math.Max(0, parse.GetValue(warmupConnections)),
                MinThroughput = parse.GetValue(minThroughput),
                MaxP99Milliseconds = parse.GetValue(maxP99),
                MinConnectRate = parse.GetValue(minConnectRate),
                MaxBytesPerConnection = parse.GetValue(maxBytes),
            };
            return await LoadRunner.RunAsync(options, rawArgs, cancellationToken);
        });
        return root;
    }

    private static async Task<(LoadOptions? Options, string? Error)> BuildAsync(RawValues raw, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(raw.Url, UriKind.Absolute, out var uri))
        {
            return (null, $"--url '{raw.Url}' is not an absolute URL");
        }

        var problem = Validate(raw);
        if (problem is not null)
        {
            return (null, problem);
        }

        var sourceAddresses = new List<IPAddress>();
        foreach (var text in raw.Sources.SelectMany(s => s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            if (!IPAddress.TryParse(text, out var address) || !LoopbackGuard.IsLoopback(address))
            {
                return (null, $"--source-address '{text}' is not a loopback address");
            }

            sourceAddresses.Add(address);
        }

        var (target, error) = await LoopbackGuard.ResolveTargetAsync(uri, cancellationToken);
        if (target is null)
        {
            return (null, error);
        }

        return (new LoadOptions
        {
            Url = uri,
            Target = target,
            Mode = raw.Mode,
            Clients = raw.Clients,
            Publishers = raw.Mode is LoadMode.Fanout or LoadMode.Latency ? raw.Publishers : 0,
            Rate = raw.Rate,
            Duration = TimeSpan.FromSeconds(raw.Duration),
            Warmup = TimeSpan.FromSeconds(raw.Warmup),
            PayloadBytes = raw.PayloadBytes,
            Room = raw.Room,
            Rooms = raw.Rooms,
            ServerPid = raw.ServerPid,
            ConnectConcurrency = raw.Concurrency,
            Window = raw.Window,
            DrainTimeout = TimeSpan.FromSeconds(raw.Drain),
            Processes = raw.Processes,
            WorkerIndex = raw.WorkerIndex,
            SourceAddresses = sourceAddresses,
            Json = false,
        }, null);
    }

    private static string? Validate(RawValues raw)
    {
        static string Format(double value) => value.ToString(CultureInfo.InvariantCulture);

        if (raw.Processes is < 1 or > 64)
        {
            return "--processes must be between 1 and 64";
        }

        if (raw.WorkerIndex < 0 || raw.WorkerIndex >= raw.Processes)
        {
            return "--worker-index is internal";
        }

        // ~19,000 sockets per process is the machine's open-file limit less some headroom.
        var perProcess = (raw.Clients + raw.Processes - 1) / raw.Processes + raw.Publishers;
        if (raw.Clients is < 0 or > 1_000_000 || perProcess > 19_000)
        {
            return $"--clients {raw.Clients} needs {perProcess} sockets per process; at most 19,000 fit (use --processes)";
        }

        if (raw.Mode is LoadMode.Fanout or LoadMode.Latency && raw.Publishers is < 1 or > 1_000)
        {
            return "--publishers must be between 1 and 1000";
        }

        if (raw.Rate < 0 || raw.Rate > 1_000_000 || raw.Mode == LoadMode.Latency && raw.Rate == 0)
        {
            return $"--rate {Format(raw.Rate)} is out of range (latency mode needs a rate > 0)";
        }

        if (raw.Duration is <= 0 or > 3_600 || raw.Warmup is < 0 or > 600 || raw.Drain is <= 0 or > 600)
        {
            return "--duration must be in (0, 3600], --warmup in [0, 600], --drain-timeout in (0, 600] seconds";
        }

        if (raw.PayloadBytes is < 32 or > 1_000_000)
        {
            return "--payload-bytes must be between 32 and 1000000";
        }

        if (raw.Room.Length is 0 or > 100 || !raw.Room.All(c => char.IsAsciiLetterOrDigit(c) || "_-:.@/=+".Contains(c, StringComparison.Ordinal)))
        {
            return "--room must be 1-100 characters of A-Z a-z 0-9 _ - : . @ / = +";
        }

        if (raw.Rooms is < 1 or > 1_000_000 || raw.Concurrency is < 1 or > 10_000 || raw.Window is < 1 or > 1_000_000)
        {
            return "--rooms, --connect-concurrency and --window must be positive (and sane)";
        }

        if (raw.Users < 0)
        {
            return "--users must be 0 (one per connection) or more";
        }

        if (raw.Mode == LoadMode.Idle && raw.ServerPid is null)
        {
            return "idle mode needs --server-pid to read the server's VmRSS";
        }

        if (raw.ServerPid is { } pid && !File.Exists($"/proc/{pid}/status"))
        {
            return $"--server-pid {pid}: no such process on this machine";
        }

        return null;
    }

    private sealed record RawValues(
        string Url,
        LoadMode Mode,
        int Clients,
        int Publishers,
        double Rate,
        double Duration,
        double Warmup,
        int PayloadBytes,
        string Room,
        int Rooms,
        int? ServerPid,
        int Concurrency,
        int Window,
        double Drain,
        int Processes,
        int WorkerIndex,
        string[] Sources,
        int Users);
}
