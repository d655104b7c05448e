using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Switchboard.Connections;
using Switchboard.Options;
using Switchboard.Protocol;

namespace Switchboard.Hosting;

/// <summary>
/// Graceful shutdown. The drain starts the moment the host begins stopping (before Kestrel waits
/// for connections, which it cannot close itself): new upgrades get 503, every connection is asked
/// to flush its queue and close with 1001, and whatever remains after <c>Shutdown:DrainSeconds</c>
/// is aborted.
/// </summary>
internal sealed partial class ConnectionDrainer(
    ConnectionRegistry registry,
    ShutdownState shutdown,
    IHostApplicationLifetime lifetime,
    IOptions<SwitchboardOptions> options,
    ILogger<ConnectionDrainer> logger) : IHostedService
{
    private readonly Lock _gate = new();
    private Task? _drain;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStopping.Register(() => StartDrain());
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => StartDrain().WaitAsync(cancellationToken);

    private Task StartDrain()
    {
        lock (_gate)
        {
            return _drain ??= DrainAsync();
        }
    }

    private async Task DrainAsync()
    {
        shutdown.BeginDraining();
        var drainTime = TimeSpan.FromSeconds(options.Value.Shutdown.DrainSeconds);
        var connections = registry.Snapshot();
        Log.Draining(logger, connections.Count, drainTime.TotalSeconds);
        foreach (var connection in connections)
        {
            connection.RequestClose(CloseCodes.GoingAway, "server shutting down", flush: true, timeout: drainTime);
        }

        using var deadline = new CancellationTokenSource(drainTime);
        try
        {
            await registry.WaitUntilEmptyAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            var left = registry.Snapshot();
            Log.DrainAborted(logger, left.Count);
            foreach (var connection in left)
            {
                connection.Abort();
            }

            // Aborted connections unwind within moments; waiting for them lets their owners' cleanup finish before exit.
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await registry.WaitUntilEmptyAsync(grace.Token).ContinueWith(static _ => { }, TaskScheduler.Default).ConfigureAwait(false);
        }
    }
}
