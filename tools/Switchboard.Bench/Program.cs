using Microsoft.Extensions.Configuration;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Switchboard.Connections;
using Switchboard.Hub;
using Switchboard.Identity;
using Switchboard.Metrics;
using Switchboard.Options;

if (args is ["conn-cost", ..])
{
    await ConnectionCost.RunAsync(args);
    return;
}

if (args is ["micro", ..])
{
    Switchboard.Bench.ConnectionBenchmarks.Run(args[1..]);
    return;
}

if (args is ["conn-clients", ..])
{
    await ConnectionCostClients.RunAsync(args);
    return;
}

if (args is ["deflate", ..])
{
    await DeflateBench.RunAsync(args);
    return;
}

var members = args.Length > 0 ? int.Parse(args[0]) : 10_000;
var publishEvery = args.Length > 1 ? int.Parse(args[1]) : 0;
var services = new ServiceCollection().AddSingleton<Microsoft.Extensions.Configuration.IConfiguration>(new Microsoft.Extensions.Configuration.ConfigurationBuilder().AddEnvironmentVariables().Build()).AddLogging().AddSwitchboard().BuildServiceProvider();
var hub = services.GetRequiredService<SwitchboardHub>();
var options = services.GetRequiredService<IOptions<SwitchboardOptions>>().Value;
var metrics = services.GetRequiredService<SwitchboardMetrics>();
var connections = Enumerable.Range(0, members).Select(i =>
    new Connection(new NullTransport(), "s" + i, new ConnectionIdentity("u" + i, true, null, []), true, options.Limits, metrics, NullLogger.Instance)).ToArray();
// Send loops drain the queues as a fast client would, so publications never make anyone a slow consumer.
var sendLoops = connections.Select(c => c.RunSendLoopAsync()).ToArray();
foreach (var round in new[] { "warm-up", "measured" })
{
    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
    var clock = Stopwatch.StartNew();
    var n = 0;
    foreach (var c in connections)
    {
        if (publishEvery > 0 && ++n % publishEvery == 0)
        {
            await hub.PublishAsync("stadium", null, "{}"u8.ToArray(), false, CancellationToken.None);
        }

        await hub.JoinAsync(c, "stadium", null, true, default, CancellationToken.None);
    }
    var joined = clock.Elapsed;
    foreach (var c in connections)
    {
        await hub.LeaveAsync(c, "stadium", CancellationToken.None);
    }
    var total = clock.Elapsed;
    var used = Process.GetCurrentProcess().TotalProcessorTime - cpu;
    Console.WriteLine($"{round}: {members:N0} joins (a publication every {publishEvery} joins) {joined.TotalMilliseconds:N0} ms, then {members:N0} leaves {(total - joined).TotalMilliseconds:N0} ms; CPU {used.TotalMilliseconds:N0} ms; gen0/1/2 GCs {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}");
}

/// <summary>A transport that takes everything and never receives: the hub's cost alone is measured.</summary>
sealed class NullTransport : ITransport
{
    public ValueTask SendAsync(ReadOnlyMemory<byte> data, bool isBinary, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    public ValueTask CloseAsync(int code, string reason, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    public Task<ReceiveEnd> ReceiveAsync(Connection session, MessageHandler handler) => new TaskCompletionSource<ReceiveEnd>().Task;
    public void Abort() { }
    public void Dispose() { }
}
