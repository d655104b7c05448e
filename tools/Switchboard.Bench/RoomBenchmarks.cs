using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Switchboard.Connections;
using Switchboard.Hub;
using Switchboard.Identity;
using Switchboard.Metrics;
using Switchboard.Options;

namespace Switchboard.Bench;

/// <summary>
/// Micro-benchmarks of a room's own hot path: a connection joining a room nobody else is in and
/// leaving it again, so the hub creates the room's coordinator and retires it each time (what a
/// small room costs on every arrival and departure). The memory broker's stream of the room outlives
/// the leave (until its history TTL), as on a real node. Usage: <c>micro --filter '*Room*'</c>.
/// </summary>
[MemoryDiagnoser]
public class RoomBenchmarks : IDisposable
{
    private SwitchboardHub _hub = null!;
    private Connection _connection = null!;

    [GlobalSetup]
    public void Setup()
    {
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(new ConfigurationBuilder().Build())
            .AddLogging()
            .AddSwitchboard()
            .BuildServiceProvider();
        _hub = services.GetRequiredService<SwitchboardHub>();
        var limits = services.GetRequiredService<IOptions<SwitchboardOptions>>().Value.Limits;
        _connection = new Connection(new NullTransport(), "session", new ConnectionIdentity("user", true, null, []), batchText: true, limits, services.GetRequiredService<SwitchboardMetrics>(), NullLogger.Instance);
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _connection?.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Join (no reply id, nothing recovered) and leave a room with no other member.</summary>
    [Benchmark]
    public async Task JoinAndLeaveOneMemberRoom()
    {
        await _hub.JoinAsync(_connection, "solo", null, recover: true, default, CancellationToken.None);
        await _hub.LeaveAsync(_connection, "solo", CancellationToken.None);
    }
}
