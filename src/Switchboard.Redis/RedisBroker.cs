using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Switchboard.Brokers;
using Switchboard.Identity;
using Switchboard.Metrics;
using Switchboard.Options;

namespace Switchboard.Redis;

/// <summary>
/// The broker for several nodes: Redis takes every room's offsets, holds its bounded stream and
/// carries publications, direct messages and presence events between the nodes that serve a room or
/// user. A node subscribes to a room's channel only while it has members there, and to a user's
/// channel only while that user is connected to it. See docs/scaling.md.
/// </summary>
/// <remarks>
/// Every Redis call has a deadline (<see cref="RedisBrokerOptions.OperationTimeoutSeconds"/>); a call
/// that fails or misses it throws <see cref="BrokerUnavailableException"/>, which the protocol
/// answers with an <c>unavailable</c> error and the HTTP API with 503. Clean-up calls (unsubscribe,
/// removing presence) never throw: what they leave behind expires.
/// </remarks>
public sealed partial class RedisBroker : IBroker, IAsyncDisposable
{
    private readonly RedisBrokerOptions _options;
    private readonly HistoryOptions _history;
    private readonly LimitsOptions _limits;
    private readonly RoomPolicy? _policy;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, RoomFeed> _rooms = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, UserChannel> _users = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    // Kept apart from its source: a late callback may still read it after the source is disposed.
    private readonly CancellationToken _stoppingToken;
    private readonly Counter<long>? _gapFills;
    private readonly Counter<long>? _streamLosses;
    private readonly Counter<long>? _nodesReaped;
    private readonly Counter<long>? _pubSubStalls;
    private readonly Counter<long>? _directsUndelivered;
    private readonly TimeProvider _time;
    private readonly Lock _lifecycle = new();
    private readonly DeliveryWorkers _workers;
    private RedisShard[]? _shards;
    private IBrokerHandler? _handler;
    private Task _heartbeat = Task.CompletedTask;
    private Task _resync = Task.CompletedTask;
    private bool _resyncAgain;
    private long _beats;
    private int _rewriteAgain;
    private TestHold? _beatHold;
    private TestHold? _presenceRetryHold;
    private bool _disposed;

    /// <summary>Creates the broker; <see cref="ConnectAsync"/> connects it.</summary>
    public RedisBroker(IOptions<RedisBrokerOptions> options, IOptions<SwitchboardOptions> switchboard, ILogger<RedisBroker>? logger = null, SwitchboardMetrics? metrics = null, RoomPolicy? policy = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(switchboard);
        _options = options.Value;
        _history = switchboard.Value.History;
        _limits = switchboard.Value.Limits;
        _policy = policy;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        Keys = new RedisKeys(_options.KeyPrefix);
        // 8 random bytes: presence entries of a restarted node must never be mistaken for the old one's.
        NodeId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        OperationTimeout = TimeSpan.FromSeconds(_options.OperationTimeoutSeconds);
        GapWait = TimeSpan.FromMilliseconds(_options.GapWaitMilliseconds);
        _stoppingToken = _stopping.Token;
        _workers = new DeliveryWorkers(_logger);
        if (metrics is not null)
        {
            _gapFills = metrics.Meter.CreateCounter<long>("switchboard.redis.gap_fills", description: "Reads of a room's stream to deliver offsets pub/sub did not bring.");
            _streamLosses = metrics.Meter.CreateCounter<long>("switchboard.redis.stream_losses", description: "Times this node found part of a room's stream lost and removed the room's members here with stream_lost (they re-join).");
            _nodesReaped = metrics.Meter.CreateCounter<long>("switchboard.redis.nodes_reaped", description: "Presence entries of dead nodes this node removed.");
            _pubSubStalls = metrics.Meter.CreateCounter<long>("switchboard.redis.pubsub_stalls", description: "Times a subscriber connection of this node stopped bringing messages: it failed (cause=disconnected) or a liveness ping did not come back (cause=silent).");
            _directsUndelivered = metrics.Meter.CreateCounter<long>("switchboard.redis.directs_undelivered", description: "Direct messages to a user connected here that this node's subscription missed while it was down or silent.");
            // Exported from zero, as the core's counters are, so rate() and alerts work before the first event.
            foreach (var counter in new[] { _gapFills, _streamLosses, _nodesReaped, _directsUndelivered })
            {
                counter.Add(0);
            }

            _pubSubStalls.Add(0, new KeyValuePair<string, object?>("cause", StallCauseDisconnected));
            _pubSubStalls.Add(0, new KeyValuePair<string, object?>("cause", StallCauseSilent));
        }
    }

    /// <summary>This node's id in presence entries and channel messages; new for every process.</summary>
    public string NodeId { get; }

    internal RedisKeys Keys { get; }

    internal TimeSpan OperationTimeout { get; }

    internal TimeSpan GapWait { get; }

    internal CancellationToken Stopping => _stoppingToken;

    internal IBrokerHandler Handler => _handler ?? throw new InvalidOperationException("The broker is not attached to a node.");

    private long HistoryTtlMilliseconds => (long)(_history.TtlSeconds * 1000);

    /// <summary>
    /// How long a room's keys live after their last refresh: the history TTL, plus the presence
    /// timeout so that the heartbeats of nodes with members keep a quiet room's stream alive.
    /// </summary>
    private long KeyTtlMilliseconds => (long)((_history.TtlSeconds + _options.PresenceTimeoutSeconds) * 1000);

    private long PresenceTimeoutMilliseconds => (long)(_options.PresenceTimeoutSeconds * 1000);

    /// <summary>
    /// How long after its last publication a room is probed for lost offsets: three intervals, so
    /// that every node sees it in two beats (a probe compares with the top the previous one saw).
    /// </summary>
    private long ProbeWindowMilliseconds => (long)(3 * _options.PresenceIntervalSeconds * 1000);

    /// <summary>Heartbeats that went through, for tests that wait for intervals to pass.</summary>
    internal long Beats => Interlocked.Read(ref _beats);

    /// <summary>This node's feed of <paramref name="room"/>, if it serves the room (for tests that set up an interleaving).</summary>
    internal RoomFeed? FeedOf(string room) => _rooms.GetValueOrDefault(room);

    /// <summary>Every shard, in configuration order; throws until connected.</summary>
    internal RedisShard[] Shards => _shards ?? throw new BrokerUnavailableException("redis: not connected yet");

    /// <summary>Shard 0: it holds the node-level keys (liveness index, rooms per node, active rooms, node directory).</summary>
    internal RedisShard Home => Shards[0];

    /// <summary>The shard that holds <paramref name="room"/>'s keys and carries its channel.</summary>
    internal RedisShard ShardOfRoom(string room) => Shards[ShardRing.IndexOf(room, Shards.Length)];

    /// <summary>The shard that carries <paramref name="user"/>'s channel.</summary>
    internal RedisShard ShardOfUser(string user) => Shards[ShardRing.IndexOf(user, Shards.Length)];

    /// <inheritdoc/>
    public void Attach(IBrokerHandler handler) => _handler = handler;

    /// <summary>
    /// Stops: removes this node's presence entries (best effort, so other nodes see its users leave
    /// now rather than after the timeout), then closes the connection.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        RedisShard[]? shards;
        lock (_lifecycle)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            shards = _shards;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_heartbeat, _resync, _probes).ConfigureAwait(false);
        if (shards is not null)
        {
            await Task.WhenAll(shards.Select(s => s.Verify)).ConfigureAwait(false);
            var removals = _rooms.Values.Select(feed => feed.Presence.CloseAndRemoveAsync());
            await BestEffortAsync(Task.WhenAll(removals), "presence at shutdown").ConfigureAwait(false);
            // Then the node itself: nobody needs to find it dead and clean up after it.
            await BestEffortAsync(EvalAsync(shards[0], LuaScripts.Stop, [Keys.NodeIndex, Keys.NodeRooms(NodeId)], [NodeId]), "liveness at shutdown").ConfigureAwait(false);
            await Task.WhenAll(_rooms.Values.Select(feed => feed.Fill)).ConfigureAwait(false);
            foreach (var shard in shards)
            {
                await BestEffortAsync(shard.Redis.CloseAsync(allowCommandsToComplete: true), "closing the connection").ConfigureAwait(false);
                shard.Redis.Dispose();
            }
        }

        await _workers.StopAsync().ConfigureAwait(false);

        _stopping.Dispose();
        Log.Stopped(_logger, NodeId);
    }

    /// <summary>
    /// Drops the connection without any clean-up, as a node that dies does: its presence entries stay
    /// until they expire. For tests of node death.
    /// </summary>
    internal async Task AbandonAsync()
    {
        RedisShard[]? shards;
        lock (_lifecycle)
        {
            _disposed = true;
            shards = _shards;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_heartbeat, _resync, _probes).ConfigureAwait(false);
        foreach (var shard in shards ?? [])
        {
            await shard.Verify.ConfigureAwait(false);
            shard.Redis.Dispose();
        }

        await _workers.StopAsync().ConfigureAwait(false);
    }

    /// <summary>Runs a Lua script on <paramref name="shard"/> with the operation deadline; failures become <see cref="BrokerUnavailableException"/>.</summary>
    internal async Task<RedisResult> EvalAsync(RedisShard shard, string script, RedisKey[] keys, RedisValue[] values, CancellationToken cancellationToken = default) =>
        await WithDeadline(shard.Redis.GetDatabase().ScriptEvaluateAsync(shard.Script(script), keys, values), cancellationToken).ConfigureAwait(false);

    /// <summary>Publishes on a channel of <paramref name="shard"/> with the operation deadline.</summary>
    internal async Task<long> PublishRawAsync(RedisShard shard, string channel, byte[] message, CancellationToken cancellationToken) =>
        await WithDeadline(shard.Redis.GetSubscriber().PublishAsync(shard.Channel(channel), message), cancellationToken).ConfigureAwait(false);

    /// <summary>Awaits a Redis call with the operation deadline; failures become <see cref="BrokerUnavailableException"/>.</summary>
    internal async Task<T> WithDeadline<T>(Task<T> call, CancellationToken cancellationToken)
    {
        await WithDeadline((Task)call, cancellationToken).ConfigureAwait(false);
        return await call.ConfigureAwait(false);
    }

    private async Task WithDeadline(Task call, CancellationToken cancellationToken)
    {
        try
        {
            await call.WaitAsync(OperationTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            // The call may have taken effect (a publication may exist); the caller reports failure
            // anyway, which is the honest answer: the client retries and may publish twice, never zero times.
            ObserveLater(call);
            throw new BrokerUnavailableException("redis is unavailable: " + FirstClause(ex.Message), ex);
        }
    }

    /// <summary>Awaits a clean-up call for at most the operation deadline; logs instead of throwing.</summary>
    internal async Task BestEffortAsync(Task call, string what)
    {
        try
        {
            await call.WaitAsync(OperationTimeout).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException or BrokerUnavailableException)
        {
            ObserveLater(call);
            Log.CleanupFailed(_logger, what, ex.Message);
        }
    }

    // A call abandoned at its deadline still completes (or fails) later; observe it so its fault is not unobserved.
    private static void ObserveLater(Task call) => call.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    // StackExchange.Redis appends connection diagnostics after a ';': for logs, not for clients.
    private static string FirstClause(string message) => message.Split(';', 2)[0].TrimEnd('.', ' ');
}
