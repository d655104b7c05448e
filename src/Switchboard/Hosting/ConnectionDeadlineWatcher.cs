using Microsoft.Extensions.Hosting;
using Switchboard.Connections;

namespace Switchboard.Hosting;

/// <summary>
/// Closes connections whose deadline passed (token expiry, authentication timeout). One sweep over
/// all connections four times a second costs far less than a timer per connection, and a quarter of
/// a second is precise enough for deadlines measured in seconds.
/// </summary>
internal sealed class ConnectionDeadlineWatcher(ConnectionRegistry registry, TimeProvider time) : BackgroundService
{
    private static readonly TimeSpan Period = TimeSpan.FromMilliseconds(250);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Period, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                var now = time.GetUtcNow();
                registry.ForEach(connection => connection.CheckDeadline(now));
            }
        }
        catch (OperationCanceledException)
        {
            // Host shutdown.
        }
    }
}
