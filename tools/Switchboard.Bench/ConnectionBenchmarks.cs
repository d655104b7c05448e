using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Perfolizer.Metrology;
using Switchboard.Connections;
using Switchboard.Identity;
using Switchboard.Metrics;
using Switchboard.Options;

namespace Switchboard.Bench;

/// <summary>
/// Micro-benchmarks of a connection's own hot paths: creating one (what every connect pays) and a
/// burst of frames through its outbound queue to its send loop (what every delivery pays). Their
/// allocation columns do not depend on the machine's load; the times do. In process, so that no
/// benchmark project is generated and built. Usage: <c>micro [BenchmarkDotNet arguments]</c>.
/// </summary>
[MemoryDiagnoser]
public class ConnectionBenchmarks
{
    private readonly LimitsOptions _limits = new();
    private readonly SwitchboardMetrics _metrics = new ServiceCollection().AddMetrics().AddSingleton<SwitchboardMetrics>().BuildServiceProvider().GetRequiredService<SwitchboardMetrics>();
    private readonly ConnectionIdentity _identity = new("user", true, null, []);
    private readonly OutboundFrame _frame = OutboundFrame.Text("{\"type\":\"message\",\"room\":\"lobby\",\"data\":{}}"u8.ToArray());

    [Params(1, 16)]
    public int Frames { get; set; }

    public static void Run(string[] args) =>
        BenchmarkSwitcher.FromTypes([typeof(ConnectionBenchmarks), typeof(RoomBenchmarks)]).Run(args, DefaultConfig.Instance
            .AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance))
            // Bytes, not KiB: the allocation column is the figure compared from commit to commit.
            .WithSummaryStyle(SummaryStyle.Default.WithSizeUnit(SizeUnit.B)));

    /// <summary>A connection built and disposed, with nothing sent: its fixed cost.</summary>
    [Benchmark]
    public void CreateAndDispose()
    {
        using var connection = NewConnection();
    }

    /// <summary>A connection whose send loop drains <see cref="Frames"/> queued frames and then its close.</summary>
    [Benchmark]
    public async Task QueueAndDrain()
    {
        using var connection = NewConnection();
        var sendLoop = connection.RunSendLoopAsync();
        for (var i = 0; i < Frames; i++)
        {
            connection.TryEnqueue(_frame);
        }

        connection.RequestClose(1000, string.Empty, flush: true);
        await sendLoop;
    }

    private Connection NewConnection() => new(new NullTransport(), "session", _identity, batchText: true, _limits, _metrics, NullLogger.Instance);
}
