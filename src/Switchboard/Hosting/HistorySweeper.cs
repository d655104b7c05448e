using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Switchboard.Brokers;
using Switchboard.Options;

namespace Switchboard.Hosting;

/// <summary>Periodically trims expired history and forgets idle streams of the in-memory broker.</summary>
internal sealed class HistorySweeper(MemoryBroker broker, IOptions<SwitchboardOptions> options, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // A quarter of the TTL bounds how long an expired stream lingers; 30 s caps the period for long TTLs.
        var period = TimeSpan.FromSeconds(Math.Clamp(options.Value.History.TtlSeconds / 4, 0.05, 30));
        using var timer = new PeriodicTimer(period, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                broker.Sweep();
            }
        }
        catch (OperationCanceledException)
        {
            // Host shutdown.
        }
    }
}
