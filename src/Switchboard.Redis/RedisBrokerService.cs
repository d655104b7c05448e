using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Switchboard.Options;

namespace Switchboard.Redis;

/// <summary>
/// Connects the Redis broker when the host starts, and closes it only after every other service
/// has stopped: the drain that closes connections at shutdown still needs Redis to send their
/// <c>left</c> events and remove this node's presence. Does nothing when another broker is selected.
/// </summary>
internal sealed class RedisBrokerService(IServiceProvider services, IOptions<SwitchboardOptions> options) : IHostedLifecycleService
{
    private RedisBroker? _broker;
    private RedisSessionRelay? _relay;

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.Broker == RedisServiceCollectionExtensions.BrokerName)
        {
            _broker = services.GetRequiredService<RedisBroker>();
            await _broker.ConnectAsync(cancellationToken).ConfigureAwait(false);
            // Before the server takes requests: a stream opened here must be able to get forwarded posts.
            _relay = services.GetRequiredService<RedisSessionRelay>();
            await _relay.StartAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        if (_relay is not null)
        {
            await _relay.StopAsync().ConfigureAwait(false);
        }

        if (_broker is not null)
        {
            await _broker.DisposeAsync().ConfigureAwait(false);
        }
    }
}
