using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Switchboard.Connections;

/// <summary>
/// What one connection costs the server, in figures that do not depend on the machine's load: the
/// managed bytes it keeps while idle (after a full blocking GC, divided by the number of
/// connections) and the bytes allocated by one connect, join and close. The server runs in this
/// process with a bare Kestrel endpoint beside Switchboard's, so the framework's share (Kestrel's
/// HTTP/1.1 connection, the upgraded stream, <c>ManagedWebSocket</c>) is measured the same way as
/// what Switchboard adds; the clients run in a child process (<see cref="ConnectionCostClients"/>)
/// so none of their objects are counted. A second listener runs the comparison's peer below HTTP
/// (<c>bench/peers/KestrelConnPeer</c>: a <c>ConnectionHandler</c> that answers the upgrade and speaks
/// the frames itself), measured the same way.
/// Usage: <c>conn-cost [CONNECTIONS] [CYCLES] [--pause]</c>; with <c>--pause</c> each idle scenario
/// waits for Enter with its connections open, for <c>dotnet-gcdump collect -p PID</c>.
/// </summary>
internal static class ConnectionCost
{
    /// <summary>
    /// What the client does on each connection: <c>url</c> is done at the handshake (the bare endpoint,
    /// and the peer below HTTP, which joins the room named in its URL); the others are Switchboard's /ws.
    /// </summary>
    private sealed record Scenario(string Name, string Path, string Join);

    private const string BelowHttpPath = "conn";

    private static readonly Scenario[] Scenarios =
    [
        new("bare Kestrel AcceptWebSocketAsync", "bare", "url"),
        new("ConnectionHandler below HTTP (KestrelConnPeer), joined to one shared room", BelowHttpPath, "url"),
        new("Switchboard /ws, welcome only", "ws", "none"),
        new("Switchboard /ws, joined to one shared room", "ws", "shared"),
        new("Switchboard /ws, each in a room of its own", "ws", "own"),
    ];

    private static int s_bareOpen;

    public static async Task RunAsync(string[] args)
    {
        var connections = args.Length > 1 && !args[1].StartsWith("--", StringComparison.Ordinal) ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2_000;
        var cycles = args.Length > 2 && !args[2].StartsWith("--", StringComparison.Ordinal) ? int.Parse(args[2], CultureInfo.InvariantCulture) : 2_000;
        var pause = args.Contains("--pause");
        var belowHttp = new BelowHttpListener();
        await using var app = await StartServerAsync(belowHttp);
        var addresses = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses;
        var baseUri = "ws://" + addresses.Select(a => new Uri(a)).First(a => a.Port != belowHttp.Port).Authority + "/";
        var registry = new OpenConnections(app.Services.GetRequiredService<ConnectionRegistry>(), app.Services.GetRequiredService<KestrelConnPeer.Rooms>());
        string UriOf(Scenario scenario) => scenario.Path == BelowHttpPath ? $"ws://127.0.0.1:{belowHttp.Port}/ws?room=lobby" : baseUri + scenario.Path;
        Console.WriteLine($"routes: {string.Join(", ", addresses)}; below HTTP on port {belowHttp.Port}");
        Console.WriteLine($"conn-cost: server pid {Environment.ProcessId}, {connections:N0} idle connections per scenario, {cycles:N0} connect+join+close cycles; workstation GC, bytes are the managed heap after a full blocking GC, less the pinned object heap (Kestrel's memory pool)");

        // A warm-up of every scenario, so that JIT, pools and type loading are not counted as the first scenario's.
        foreach (var scenario in Scenarios)
        {
            await using var warmUp = await RunClientsAsync(UriOf(scenario), scenario, "cycles", 200, registry);
            await warmUp.FinishAsync(registry, scenario);
        }

        if (pause)
        {
            FullGcHeapBytes();
            Console.WriteLine($"baseline: no connections open; dotnet-gcdump collect -p {Environment.ProcessId}, then Enter");
            Console.ReadLine();
        }

        Console.WriteLine();
        Console.WriteLine("| scenario | retained per idle connection | allocated per connect+join+close | retained per connect+join+close (a leak) | pinned heap (pool) |");
        Console.WriteLine("| --- | --- | --- | --- | --- |");
        foreach (var scenario in Scenarios)
        {
            var before = FullGcHeapBytes();
            await using (var idle = await RunClientsAsync(UriOf(scenario), scenario, "hold", connections, registry))
            {
                var held = FullGcHeapBytes();
                if (pause)
                {
                    Console.WriteLine($"{scenario.Name}: {connections:N0} connections open; dotnet-gcdump collect -p {Environment.ProcessId}, then Enter");
                    Console.ReadLine();
                }

                await idle.FinishAsync(registry, scenario);
                var perConnection = (held - before) / (double)connections;
                // What the cycles leave behind once they are over: a leak grows with the number of
                // cycles, where the heap's own settling does not (compare runs with different counts).
                var beforeCycles = FullGcHeapBytes();
                var allocated = await AllocatedPerCycleAsync(UriOf(scenario), scenario, cycles, registry);
                var leaked = (FullGcHeapBytes() - beforeCycles) / (double)cycles;
                Console.WriteLine($"| {scenario.Name} | {perConnection:N0} B | {allocated:N0} B | {leaked:N1} B | {PinnedHeapBytes() / 1024:N0} KiB |");
            }
        }
    }

    private static async Task<double> AllocatedPerCycleAsync(string uri, Scenario scenario, int cycles, OpenConnections registry)
    {
        // Precise: counts the allocation contexts of every thread, not only what filled whole budgets.
        var start = GC.GetTotalAllocatedBytes(precise: true);
        await using (var run = await RunClientsAsync(uri, scenario, "cycles", cycles, registry))
        {
            await run.FinishAsync(registry, scenario);
        }

        return (GC.GetTotalAllocatedBytes(precise: true) - start) / (double)cycles;
    }

    private static long FullGcHeapBytes()
    {
        // Twice, with finalizers between: objects kept only by a finalizer go in the second pass.
        for (var i = 0; i < 2; i++)
        {
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }

        // Less the pinned object heap: Kestrel's memory pool lives there, and its size follows the
        // peak number of reads and writes under way (how fast the clients connected), not the number of
        // connections held; an idle connection holds no block (the transport waits with a zero-byte read).
        return GC.GetTotalMemory(forceFullCollection: true) - PinnedHeapBytes();
    }

    private static long PinnedHeapBytes() => GC.GetGCMemoryInfo(GCKind.FullBlocking).GenerationInfo[4].SizeAfterBytes;

    private static async Task<ClientProcess> RunClientsAsync(string uri, Scenario scenario, string mode, int count, OpenConnections registry)
    {
        var client = ClientProcess.Start(uri, scenario.Join, mode, count);
        await client.WaitForAsync("ready");
        return client;
    }

    private static async Task<WebApplication> StartServerAsync(BelowHttpListener belowHttp)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production", Args = ["--hostBuilder:reloadConfigOnChange=false"] });
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0);
            kestrel.Listen(IPAddress.Loopback, 0, listen =>
            {
                belowHttp.Options = listen;
                listen.UseConnectionHandler<KestrelConnPeer.WebSocketConnectionHandler>();
            });
        });
        builder.Services.AddSingleton<KestrelConnPeer.Rooms>();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Switchboard:Auth:AllowQueryUser"] = "true",
            ["Switchboard:Rooms:AllowAll"] = "true",
            ["Switchboard:Limits:AcceptsPerSecond"] = "1000000",
            ["Switchboard:Limits:AcceptsPerSecondPerIp"] = "1000000",
            ["Switchboard:Limits:AcceptBurstPerIp"] = "1000000",
            ["Switchboard:Limits:MaxConnectionsPerIp"] = "1000000",
            // No joined/left events: the clients stop reading after their join reply, and the events
            // for later joiners of the shared room would pile up in queues and be counted as held.
            ["Switchboard:Limits:MaxMembersForPresenceEvents"] = "0",
        });
        builder.Services.AddSwitchboard().AddSwitchboardKestrelLimits();
        var app = builder.Build();
        app.UseWebSockets();
        // The floor: what Kestrel and ManagedWebSocket hold for an accepted socket waiting for data,
        // with the zero-byte read that Switchboard's transport uses too (so no receive buffer is held).
        app.Map("/bare", async context =>
        {
            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            Interlocked.Increment(ref s_bareOpen);
            try
            {
                while ((await socket.ReceiveAsync(Memory<byte>.Empty, CancellationToken.None)).MessageType != WebSocketMessageType.Close)
                {
                }

                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
            }
            catch (WebSocketException)
            {
                // The client vanished: nothing to answer.
            }
            finally
            {
                Interlocked.Decrement(ref s_bareOpen);
            }
        });
        app.MapSwitchboard();
        await app.StartAsync();
        return app;
    }

    /// <summary>Where each route counts its open connections.</summary>
    private sealed record OpenConnections(ConnectionRegistry Switchboard, KestrelConnPeer.Rooms BelowHttp);

    /// <summary>The listener of the route below HTTP; Kestrel fills in its port when it binds port 0.</summary>
    private sealed class BelowHttpListener
    {
        public ListenOptions? Options { get; set; }

        public int Port => ((IPEndPoint)Options!.EndPoint).Port;
    }

    /// <summary>The child process that holds or cycles the connections, driven by lines on its stdin and stdout.</summary>
    private sealed class ClientProcess : IAsyncDisposable
    {
        private readonly Process _process;

        private ClientProcess(Process process) => _process = process;

        public static ClientProcess Start(string uri, string join, string mode, int count)
        {
            var start = new ProcessStartInfo(Environment.ProcessPath!)
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
            {
                start.ArgumentList.Add(typeof(ConnectionCost).Assembly.Location);
            }

            foreach (var arg in new[] { "conn-clients", uri, join, mode, count.ToString(CultureInfo.InvariantCulture) })
            {
                start.ArgumentList.Add(arg);
            }

            return new ClientProcess(Process.Start(start)!);
        }

        public async Task WaitForAsync(string line)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
            while (await _process.StandardOutput.ReadLineAsync(timeout.Token) is { } read)
            {
                if (read == line)
                {
                    return;
                }

                Console.WriteLine("  client: " + read);
            }

            throw new InvalidOperationException($"the client process ended before '{line}'");
        }

        /// <summary>Lets the client close everything, then waits until the server has let go of every connection.</summary>
        public async Task FinishAsync(OpenConnections registry, Scenario scenario)
        {
            await _process.StandardInput.WriteLineAsync("close");
            await _process.StandardInput.FlushAsync();
            await WaitForAsync("closed");
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            await registry.Switchboard.WaitUntilEmptyAsync(timeout.Token);
            while ((scenario.Path == "bare" && Volatile.Read(ref s_bareOpen) > 0) || (scenario.Path == BelowHttpPath && registry.BelowHttp.MemberCount > 0))
            {
                timeout.Token.ThrowIfCancellationRequested();
                await Task.Delay(10, timeout.Token);
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill();
            }

            await _process.WaitForExitAsync();
            _process.Dispose();
        }
    }
}
