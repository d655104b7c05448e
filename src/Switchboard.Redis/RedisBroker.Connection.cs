using StackExchange.Redis;
using Switchboard.Brokers;

namespace Switchboard.Redis;

public sealed partial class RedisBroker
{
    /// <summary>
    /// Connects to every shard and starts the presence heartbeat. Returns once connected, or after the
    /// connect timeout when a shard is unreachable: the node then starts anyway, reports itself
    /// unavailable, and connects in the background.
    /// </summary>
    public async Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        var configurations = _options.ShardConfigurations();
        if (configurations.Count == 0)
        {
            throw new InvalidOperationException("Switchboard:Redis:Configuration or Switchboard:Redis:Shards is required.");
        }

        var connecting = configurations.Select(c => ConnectShardAsync(c, cancellationToken)).ToArray();
        RedisShard[] shards;
        try
        {
            shards = (await Task.WhenAll(connecting).ConfigureAwait(false)).Select((redis, i) => new RedisShard(i, redis, IsCluster(redis))).ToArray();
        }
        catch
        {
            foreach (var connected in connecting.Where(t => t.IsCompletedSuccessfully))
            {
                connected.Result.Dispose();
            }

            throw;
        }

        if (_options.WaitForReplicas > 0 && shards.FirstOrDefault(s => s.IsCluster) is { } cluster)
        {
            foreach (var shard in shards)
            {
                shard.Redis.Dispose();
            }

            throw new InvalidOperationException($"Switchboard:Redis:WaitForReplicas must be 0 with a Redis Cluster (shard {cluster.Index} is one).");
        }

        foreach (var shard in shards)
        {
            shard.Redis.ConnectionFailed += (_, e) => OnConnectionFailed(shard, e);
            shard.Redis.ConnectionRestored += (_, e) => OnConnectionRestored(shard, e);
        }

        var firstBeat = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lifecycle)
        {
            if (_disposed)
            {
                foreach (var shard in shards)
                {
                    shard.Redis.Dispose();
                }

                throw new ObjectDisposedException(nameof(RedisBroker));
            }

            _shards = shards;
            foreach (var shard in shards)
            {
                shard.Verify = VerifyWritableAsync(shard, _stoppingToken);
            }

            _heartbeat = HeartbeatLoopAsync(firstBeat, _stoppingToken);
            _probes = ProbeLoopsAsync(shards, _stoppingToken);
        }

        if (shards.All(s => s.Redis.IsConnected))
        {
            try
            {
                // Ready when this returns, and this node's presence entries count from the start.
                await Task.WhenAll(shards.Select(s => s.Verify)).WaitAsync(2 * OperationTimeout, cancellationToken).ConfigureAwait(false);
                await firstBeat.Task.WaitAsync(2 * OperationTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Redis is slow to take commands: readiness follows in the background.
            }

            Log.Connected(_logger, NodeId, Endpoints(shards));
        }
        else
        {
            Log.NotConnectedAtStart(_logger, NodeId, Endpoints(shards));
        }
    }

    private async Task<ConnectionMultiplexer> ConnectShardAsync(string configuration, CancellationToken cancellationToken)
    {
        var config = ConfigurationOptions.Parse(configuration);
        // A node must start, and keep its WebSocket clients, while Redis is away.
        config.AbortOnConnectFail = false;
        config.ClientName ??= "switchboard-" + NodeId;
        // Fail a command at once while the connection is down, as 1.x did. The default backlog would
        // hold it and send it after the reconnect: a publication refused with "unavailable" would then
        // appear after all, once Redis is back, seconds after its client gave up on it.
        config.BacklogPolicy = BacklogPolicy.FailFast;
        if (!configuration.Contains("asyncTimeout", StringComparison.OrdinalIgnoreCase))
        {
            // StackExchange.Redis drops a connection that read nothing for four async timeouts while its
            // commands time out; the pub/sub probe's PING on the subscriber connection relies on that to
            // replace a silent one. Its default (5 s) would take 20 s; this node gives up on a call sooner anyway.
            config.AsyncTimeout = (int)(1000 * Math.Max(_options.OperationTimeoutSeconds, _options.PubSubProbeTimeoutSeconds));
        }

        return await ConnectionMultiplexer.ConnectAsync(config).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// With <see cref="RedisBrokerOptions.WaitForReplicas"/>, waits until that many replicas hold every
    /// write this node sent the shard so far (<c>WAIT</c> counts the connection's writes, and the
    /// publish script went on the same connection just before), so that a failover to one of them keeps
    /// the publication about to be acknowledged. Fewer within the time: <see cref="BrokerUnavailableException"/>.
    /// </summary>
    private async Task WaitForReplicasAsync(RedisShard shard, CancellationToken cancellationToken)
    {
        var replicas = _options.WaitForReplicas;
        if (replicas == 0)
        {
            return;
        }

        // Half the deadline, so that Redis answers with the count before the call itself times out
        // (0 would make WAIT block for ever).
        var timeout = Math.Max(1, (long)(OperationTimeout.TotalMilliseconds / 2));
        var confirmed = (long)await WithDeadline(shard.Redis.GetDatabase().ExecuteAsync("WAIT", replicas, timeout), cancellationToken).ConfigureAwait(false);
        if (confirmed < replicas)
        {
            throw new BrokerUnavailableException($"redis: {confirmed} of {replicas} replicas confirmed the publication in time");
        }
    }

    /// <summary>Configured, or detected from the server's mode; a shard unreachable at start-up counts as standalone (docs/scaling.md).</summary>
    private bool IsCluster(ConnectionMultiplexer redis)
    {
        if (_options.Cluster is { } configured)
        {
            return configured;
        }

        var servers = redis.GetServers().Where(s => s.IsConnected).ToArray();
        if (servers.Length == 0)
        {
            Log.ModeUnknown(_logger, string.Join(",", redis.GetEndPoints().Select(e => e.ToString())));
            return false;
        }

        return servers.Any(s => s.ServerType == ServerType.Cluster);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Ready means every shard is connected and a script went through on it since its interactive
    /// connection last failed: right after a reconnect StackExchange.Redis reports the socket connected
    /// while it still refuses commands (it is re-detecting the server), and a load balancer must not
    /// send traffic then. A node serves every shard's rooms, so one shard down makes it unready.
    /// </remarks>
    public string? Unavailable
    {
        get
        {
            var shards = _shards;
            if (shards is null)
            {
                return "redis: not connected yet";
            }

            foreach (var shard in shards)
            {
                if (shard.Unavailable is { } reason)
                {
                    return reason;
                }
            }

            return null;
        }
    }

    private static string Endpoints(RedisShard[] shards) => string.Join(" ", shards.Select(s => s.Endpoints));

    private void OnConnectionFailed(RedisShard shard, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType == ConnectionType.Subscription)
        {
            shard.SubscriptionDown = true;
            CountStall(StallCauseDisconnected);
        }
        else
        {
            shard.OnInteractiveFailure();
        }

        Log.ConnectionFailed(_logger, e.ConnectionType, e.EndPoint?.ToString(), e.FailureType);
    }

    private void OnConnectionRestored(RedisShard shard, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType == ConnectionType.Subscription)
        {
            shard.SubscriptionDown = false;
        }

        Log.ConnectionRestored(_logger, e.ConnectionType, e.EndPoint?.ToString(), _rooms.Count);
        RequestResync(shard);
    }

    /// <summary>Starts the catch-up of every room and user (or runs it again once the running one ends), after the shard takes commands again.</summary>
    private void RequestResync(RedisShard shard)
    {
        lock (_lifecycle)
        {
            if (_disposed)
            {
                return;
            }

            if (shard.Verify.IsCompleted && !shard.Writable)
            {
                shard.Verify = VerifyWritableAsync(shard, _stoppingToken);
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

    /// <summary>Runs a trivial script on the shard until one goes through with no connection failure in between, then reports the shard usable.</summary>
    private async Task VerifyWritableAsync(RedisShard shard, CancellationToken stopping)
    {
        try
        {
            await Task.Yield();
            while (true)
            {
                var failures = shard.InteractiveFailures;
                try
                {
                    await EvalAsync(shard, "return 1", [], [], stopping).ConfigureAwait(false);
                    if (failures == shard.InteractiveFailures)
                    {
                        shard.Writable = true;
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
    /// Redis itself may have restarted empty. Once every shard takes commands again, every room reads
    /// its stream after its last delivered offset (and learns of a new epoch), every presence entry is
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
                Task verify;
                lock (_lifecycle)
                {
                    _resyncAgain = false;
                    verify = Task.WhenAll(Shards.Select(s => s.Verify));
                }

                await verify.ConfigureAwait(false);
                Interlocked.Increment(ref _catchUps);
                foreach (var feed in _rooms.Values)
                {
                    feed.RequestCatchUp();
                    ObserveLater(feed.Presence.RequestAsync(full: true, heal: true));
                }

                SyncEveryUser();
                await Task.Delay(TimeSpan.FromSeconds(1), stopping).ConfigureAwait(false);
                foreach (var feed in _rooms.Values)
                {
                    feed.RequestCatchUp();
                }

                SyncEveryUser();
            }
            while (ResyncAgain());
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
    }

    /// <summary>Catch-ups of every room started so far (after a reconnect, or after a silent pub/sub connection spoke again); for tests.</summary>
    internal long CatchUps => Interlocked.Read(ref _catchUps);

    /// <summary>
    /// Directs are not kept anywhere, so what a down subscription missed cannot be caught up; but it is
    /// counted: each user channel hears its direct count (<see cref="SyncDirectsAsync"/>). Twice, as the
    /// rooms' catch-up: a count published before the re-subscription took effect is not heard.
    /// </summary>
    private void SyncEveryUser()
    {
        foreach (var user in _users.Keys)
        {
            ObserveLater(SyncDirectsAsync(user));
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
