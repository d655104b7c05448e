using StackExchange.Redis;
using Switchboard.Brokers;

namespace Switchboard.Redis;

public sealed partial class RedisBroker
{
    /// <inheritdoc/>
    /// <remarks>
    /// Ready means a script went through since the interactive connection last failed: right after
    /// a reconnect StackExchange.Redis reports the socket connected while it still refuses commands
    /// (it is re-detecting the server), and a load balancer must not send traffic then.
    /// </remarks>
    public string? Unavailable
    {
        get
        {
            var redis = _redis;
            if (redis is null)
            {
                return "redis: not connected yet";
            }

            if (!redis.IsConnected)
            {
                return $"redis: no connection to {Endpoints(redis)}";
            }

            if (!_writable)
            {
                return $"redis: reconnecting to {Endpoints(redis)}";
            }

            return _subscriptionDown ? $"redis: the pub/sub connection to {Endpoints(redis)} is down" : null;
        }
    }

    private static string Endpoints(ConnectionMultiplexer redis) => string.Join(",", redis.GetEndPoints().Select(e => e.ToString()));

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType == ConnectionType.Subscription)
        {
            _subscriptionDown = true;
        }
        else
        {
            Interlocked.Increment(ref _interactiveFailures);
            _writable = false;
        }

        Log.ConnectionFailed(_logger, e.ConnectionType, e.EndPoint?.ToString(), e.FailureType);
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType == ConnectionType.Subscription)
        {
            _subscriptionDown = false;
        }

        Log.ConnectionRestored(_logger, e.ConnectionType, e.EndPoint?.ToString(), _rooms.Count);
        lock (_lifecycle)
        {
            if (_disposed)
            {
                return;
            }

            if (_verify.IsCompleted && !_writable)
            {
                _verify = VerifyWritableAsync(_stoppingToken);
            }

            if (_resync.IsCompleted)
            {
                _resync = ResyncAfterReconnectAsync(_stoppingToken);
            }
            else
            {
                _resyncAgain = true;
            }
        }
    }

    /// <summary>Runs a trivial script until one goes through with no connection failure in between, then reports Redis usable.</summary>
    private async Task VerifyWritableAsync(CancellationToken stopping)
    {
        try
        {
            await Task.Yield();
            while (true)
            {
                var failures = Volatile.Read(ref _interactiveFailures);
                try
                {
                    await EvalAsync("return 1", [], [], stopping).ConfigureAwait(false);
                    if (failures == Volatile.Read(ref _interactiveFailures))
                    {
                        _writable = true;
                        return;
                    }
                }
                catch (BrokerUnavailableException)
                {
                    // Not yet: StackExchange.Redis is still reconnecting. Polling interval below.
                }

                await Task.Delay(TimeSpan.FromMilliseconds(50), stopping).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
    }

    /// <summary>
    /// After a reconnect: pub/sub dropped whatever was published while the subscription was down, and
    /// Redis itself may have restarted empty. Once Redis takes commands again, every room reads its
    /// stream after its last delivered offset (and learns of a new epoch), every presence entry is
    /// written again in full. The catch-up runs twice: StackExchange.Redis re-sends the
    /// subscriptions as it reports the reconnect, and a publication that lands between those and
    /// the first read is caught by the second. A reconnect during the run makes it run again.
    /// </summary>
    private async Task ResyncAfterReconnectAsync(CancellationToken stopping)
    {
        try
        {
            do
            {
                lock (_lifecycle)
                {
                    _resyncAgain = false;
                }

                Task verify;
                lock (_lifecycle)
                {
                    verify = _verify;
                }

                await verify.ConfigureAwait(false);
                foreach (var feed in _rooms.Values)
                {
                    feed.RequestCatchUp();
                    ObserveLater(feed.Presence.RequestAsync(full: true));
                }

                await Task.Delay(TimeSpan.FromSeconds(1), stopping).ConfigureAwait(false);
                foreach (var feed in _rooms.Values)
                {
                    feed.RequestCatchUp();
                }
            }
            while (ResyncAgain());
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
    }

    private bool ResyncAgain()
    {
        lock (_lifecycle)
        {
            return _resyncAgain && !_disposed;
        }
    }
}
