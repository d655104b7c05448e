using System.Runtime.InteropServices;
using System.Security.Cryptography;
using StackExchange.Redis;
using Switchboard.Brokers;
using Switchboard.Protocol;
using Switchboard.Telemetry;
using StreamPosition = Switchboard.Protocol.StreamPosition;

namespace Switchboard.Redis;

public sealed partial class RedisBroker
{
    /// <inheritdoc/>
    /// <remarks>
    /// One script takes the offset, appends and publishes. Members on this node get the publication
    /// as soon as the script returns, before this method does (so a publisher sees its message
    /// before its reply); other nodes get it by pub/sub, and this node skips the echo.
    /// </remarks>
    public ValueTask<StreamPosition> PublishAsync(string room, string? from, ReadOnlyMemory<byte> payload, bool isBinary, CancellationToken cancellationToken) =>
        PublishAsync(room, from, payload, isBinary, idempotencyKey: null, cancellationToken);

    /// <inheritdoc/>
    /// <remarks>
    /// The idempotency key lives in Redis beside the room's stream (in its hash slot) for the window,
    /// so a retry reaching another node finds it too; the script checks it and appends atomically.
    /// </remarks>
    public async ValueTask<StreamPosition> PublishAsync(string room, string? from, ReadOnlyMemory<byte> payload, bool isBinary, string? idempotencyKey, CancellationToken cancellationToken)
    {
        // Keys are ignored when the window is off, as the in-memory broker does.
        idempotencyKey = _history.IdempotencyWindowSeconds > 0 ? idempotencyKey : null;
        var data = MemoryMarshal.TryGetArray(payload, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : payload.ToArray();
        // The publish span's context travels with the publication, so that every node's delivery
        // continues its trace. Nothing is added when nobody traces (no span; the argument is empty).
        var trace = SwitchboardTracing.CurrentPublish;
        var shard = ShardOfRoom(room);
        RedisValue[] arguments =
        [
            Keys.RoomChannelName(room), NewEpoch(), _history.Size, HistoryTtlMilliseconds, KeyTtlMilliseconds,
            (isBinary ? "b" : "t") + (trace is null ? string.Empty : "c"), from ?? string.Empty, data,
            trace is null ? string.Empty : ChannelMessages.TraceLine(trace), shard.PublishMode,
            (long)(_history.IdempotencyWindowSeconds * 1000),
        ];
        MarkActive(room);
        var result = (RedisResult[])(await EvalAsync(shard, LuaScripts.Publish, Keys.PublishKeys(room, idempotencyKey), arguments, cancellationToken).ConfigureAwait(false))!;
        await WaitForReplicasAsync(shard, cancellationToken).ConfigureAwait(false);
        var offset = (ulong)(long)result[0];
        var epoch = (string)result[1]!;
        var repeated = result.Length > 3;
        if (repeated)
        {
            // The first publish delivers its publication; a retry on the node where it is still on its
            // way waits for it as that publish does, so the publisher sees its message before the reply.
            if (_rooms.TryGetValue(room, out var roomFeed) && roomFeed.IsEpoch(epoch))
            {
                await WaitDeliveredAsync(roomFeed, offset, cancellationToken).ConfigureAwait(false);
            }

            return new StreamPosition(offset, epoch);
        }

        if (_rooms.TryGetValue(room, out var feed))
        {
            var publication = new Publication(room, offset, from, payload, isBinary, DateTimeOffset.FromUnixTimeMilliseconds((long)result[2]))
            {
                TraceContext = trace?.Context ?? default,
            };
            // Delivered by the room's worker, in line with what pub/sub brings from other nodes; the
            // publisher waits for it (and, after a gap, for the earlier offsets to arrive or be read).
            // The position is valid either way, so a late delivery does not fail the publish.
            try
            {
                await _workers.PostAsync(feed.Worker, new DeliveryItem(feed, RedisValue.Null, publication, epoch)).AsTask().WaitAsync(OperationTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Delivered later, or the members are removed from the room (stream_lost), re-join and learn it.
                return new StreamPosition(offset, epoch);
            }

            await WaitDeliveredAsync(feed, offset, cancellationToken).ConfigureAwait(false);
        }

        return new StreamPosition(offset, epoch);
    }

    private async Task WaitDeliveredAsync(RoomFeed feed, ulong offset, CancellationToken cancellationToken)
    {
        try
        {
            await feed.WaitDeliveredAsync(offset).WaitAsync(OperationTimeout + GapWait, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Delivered later, or the members are removed from the room (stream_lost), re-join and learn it.
        }
    }

    /// <inheritdoc/>
    public async ValueTask<StreamRead> ReadStreamAsync(string room, StreamPosition? since, int limit, CancellationToken cancellationToken)
    {
        if (_rooms.TryGetValue(room, out var feed))
        {
            // A joiner must read after this node's subscription exists, or offsets published in
            // between would reach neither its read nor its live feed.
            await AwaitReadyAsync(feed, cancellationToken).ConfigureAwait(false);
        }

        var (mode, offset, epoch) = since is { } position ? ("since", position.Offset, position.Epoch) : ("latest", 0UL, string.Empty);
        var result = (RedisResult[])(await EvalAsync(ShardOfRoom(room), LuaScripts.Read, [Keys.Meta(room), Keys.Stream(room)],
            [NewEpoch(), _history.Size, HistoryTtlMilliseconds, KeyTtlMilliseconds, mode, limit, (long)offset, epoch], cancellationToken).ConfigureAwait(false))!;
        // Replies and history carry no trace: the context is decoded for deliveries only.
        var read = ToFeedRead(room, result, withTrace: false, out var used);
        var top = new StreamPosition(read.Top, read.Epoch);
        if (since is null)
        {
            return new StreamRead(top, read.Publications, null);
        }

        if (used != "after")
        {
            // Another epoch, or a position beyond the top: nothing after it can be vouched for.
            return new StreamRead(top, read.Publications, false);
        }

        var missed = read.Top - offset;
        var recovered = missed == 0 || (missed <= (ulong)limit && read.Publications.Count > 0 && read.Publications[0].Offset == offset + 1);
        return new StreamRead(top, read.Publications, recovered);
    }

    /// <inheritdoc/>
    public async ValueTask SubscribeRoomAsync(string room, CancellationToken cancellationToken)
    {
        RoomFeed feed;
        while (true)
        {
            feed = _rooms.GetOrAdd(room, static (name, broker) => new RoomFeed(name, broker), this);
            if (feed.TryAddInterest())
            {
                break;
            }
        }

        await AwaitReadyAsync(feed, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask UnsubscribeRoomAsync(string room, CancellationToken cancellationToken)
    {
        if (!_rooms.TryGetValue(room, out var feed))
        {
            return;
        }

        Task unsubscribe = Task.CompletedTask;
        Task presence = Task.CompletedTask;
        var closed = feed.RemoveInterest(queue =>
        {
            _rooms.TryRemove(new KeyValuePair<string, RoomFeed>(room, feed));
            // Unregistered at once (the UNSUBSCRIBE follows): a new feed of the room subscribes after it.
            unsubscribe = queue?.UnsubscribeAsync() ?? Task.CompletedTask;
            presence = feed.Presence.CloseAndRemoveAsync();
        });
        if (closed)
        {
            await BestEffortAsync(Task.WhenAll(unsubscribe, presence), "leaving room " + room).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Gives the room a new epoch if it still has <paramref name="observed"/> (the stream is emptied and
    /// offsets start again at 0), and returns the room's epoch and top either way: every node that saw
    /// its offsets go backwards asks, and only the first one rotates.
    /// </summary>
    internal async Task<(string Epoch, ulong Top)> RotateEpochAsync(string room, string observed)
    {
        var result = (RedisResult[])(await EvalAsync(ShardOfRoom(room), LuaScripts.RotateEpoch, [Keys.Meta(room), Keys.Stream(room)],
            [observed, NewEpoch()], Stopping).ConfigureAwait(false))!;
        return ((string)result[0]!, (ulong)(long)result[1]);
    }

    /// <summary>Reads a room's position and, with <paramref name="after"/>, the retained publications after it.</summary>
    internal async Task<FeedRead> ReadFeedAsync(string room, ulong? after)
    {
        var (mode, offset) = after is { } value ? ("after", value) : ("top", 0UL);
        var result = (RedisResult[])(await EvalAsync(ShardOfRoom(room), LuaScripts.Read, [Keys.Meta(room), Keys.Stream(room)],
            [NewEpoch(), _history.Size, HistoryTtlMilliseconds, KeyTtlMilliseconds, mode, _history.Size, (long)offset, string.Empty], Stopping).ConfigureAwait(false))!;
        // A gap filled from the stream is delivered in the trace of its publish, as if pub/sub had brought it.
        return ToFeedRead(room, result, withTrace: true, out _);
    }

    /// <summary>A message on a room channel: a publication for the feed, or another node's presence event.</summary>
    internal void OnRoomMessage(RoomFeed feed, RedisValue value)
    {
        var message = (byte[]?)value ?? [];
        if (ChannelMessages.IsPublication(message))
        {
            if (ChannelMessages.TryPeek(message, out var offset, out var epochBytes, out var timeMs) && feed.IsDelivered(offset, epochBytes))
            {
                // The echo of this node's own publication, or already filled from the stream; unless it
                // is another publication under an offset Redis handed out again (the feed then rotates the epoch).
                feed.CheckRepeat(offset, timeMs);
                return;
            }

            if (ChannelMessages.TryParsePublication(feed.Room, message, out var publication, out var epoch))
            {
                feed.Offer(publication!, epoch);
                return;
            }
        }
        else if (ChannelMessages.TryParseEvent(ChannelMessages.PresenceKind, message, out var node, out var frame))
        {
            if (node != NodeId)
            {
                Handler.OnPresenceChange(feed.Room, frame);
            }

            return;
        }

        Log.Malformed(_logger, Keys.RoomChannelName(feed.Room));
    }

    internal void OnStreamLost(string room, string reason)
    {
        Log.StreamLost(_logger, room, reason);
        _streamLosses?.Add(1);
        Handler.OnStreamLost(room);
    }

    internal void OnFilled(string room, ulong before, ulong after)
    {
        _gapFills?.Add(1);
        if (after > before)
        {
            Log.Filled(_logger, room, before + 1, after);
        }
    }

    internal void OnFillFailed(string room, string reason) => Log.FillFailed(_logger, room, reason);

    private async Task AwaitReadyAsync(RoomFeed feed, CancellationToken cancellationToken)
    {
        try
        {
            await feed.EnsureReadyAsync(EstablishAsync).WaitAsync(2 * OperationTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw new BrokerUnavailableException("redis: subscribing to the room timed out", ex);
        }
    }

    /// <summary>
    /// Subscribes to the room's channel, then takes the stream's top as the baseline: offsets up to
    /// it are the past that joiners read; everything after it arrives on the channel.
    /// </summary>
    private async Task EstablishAsync(RoomFeed feed)
    {
        var channel = feed.Shard.Channel(Keys.RoomChannelName(feed.Room));
        var subscriber = feed.Shard.Redis.GetSubscriber();
        if (!feed.HasQueue)
        {
            var queue = await SubscribeOrderedAsync(subscriber, channel, feed, feed.Worker).ConfigureAwait(false);
            if (!feed.TryAttach(queue))
            {
                // The last member left while this was starting: undo, or the subscription would outlive the feed.
                await BestEffortAsync(queue.UnsubscribeAsync(), "leaving room " + feed.Room).ConfigureAwait(false);
                return;
            }
        }

        // Redis answers commands of one connection in order: once the subscription connection answers
        // this PING, the SUBSCRIBE sent before it has taken effect.
        await WithDeadline(subscriber.PingAsync(), Stopping).ConfigureAwait(false);
        await AwaitShardedSubscriptionAsync(feed.Shard, subscriber, channel).ConfigureAwait(false);
        if (subscriber.SubscribedEndpoint(channel) is null)
        {
            throw new BrokerUnavailableException("redis: cannot subscribe while the pub/sub connection is down");
        }

        var read = await ReadFeedAsync(feed.Room, after: null).ConfigureAwait(false);
        feed.SetBaseline(read.Epoch, read.Top);
    }

    /// <summary>
    /// On a cluster the PING above may go to another master than the one that owns the channel's slot,
    /// whose subscription connection StackExchange.Redis may still be opening; it offers no PING on a
    /// given server's subscription connection, so this polls until the SSUBSCRIBE is sent there (or
    /// the deadline passes, and the caller reports the shard unavailable). An offset published before
    /// the SSUBSCRIBE took effect is not lost either way: it is read from the stream at the next gap or
    /// heartbeat probe.
    /// </summary>
    private async Task AwaitShardedSubscriptionAsync(RedisShard shard, ISubscriber subscriber, RedisChannel channel)
    {
        if (!shard.IsCluster)
        {
            return;
        }

        var deadline = DateTime.UtcNow + OperationTimeout;
        var pause = TimeSpan.FromMilliseconds(1);
        while (subscriber.SubscribedEndpoint(channel) is null && DateTime.UtcNow < deadline)
        {
            // Polling interval, doubled up to 50 ms: the connection usually opens within a few milliseconds.
            await Task.Delay(pause, Stopping).ConfigureAwait(false);
            pause = TimeSpan.FromMilliseconds(Math.Min(50, pause.TotalMilliseconds * 2));
        }
    }

    /// <summary>
    /// Registers an ordered subscription whose messages go, in the order Redis sent them, to
    /// <paramref name="target"/>'s delivery worker. Never waits for Redis and never fails for want of
    /// it: the SUBSCRIBE is sent when the pub/sub connection is up, and sent again after every
    /// reconnect, for as long as the queue is registered.
    /// </summary>
    internal async Task<ChannelMessageQueue> SubscribeOrderedAsync(ISubscriber subscriber, RedisChannel channel, IDeliveryTarget target, int worker)
    {
        // Fire-and-forget returns the registered queue at once: a SUBSCRIBE that fails or times out
        // would otherwise leave a queue registered that nobody holds (and nobody reads).
        var queue = await subscriber.SubscribeAsync(channel, CommandFlags.FireAndForget).ConfigureAwait(false);
        // The queue's loop runs on the thread pool, one message at a time; it only hands each one on.
        queue.OnMessage(message =>
        {
            var posted = _workers.PostAsync(worker, new DeliveryItem(target, message.Message));
            return posted.IsCompleted ? Task.CompletedTask : posted.AsTask();
        });
        return queue;
    }

    /// <summary>
    /// Marks the room as published to, on the home shard where every node's heartbeat looks for rooms
    /// to probe. Sent beside the publish script rather than from it (it is another slot), and not
    /// awaited: the mark is a hint for finding lost messages sooner, and a publication whose mark is
    /// lost is still found by the next publication's gap or a reconnect's catch-up.
    /// </summary>
    private void MarkActive(string room)
    {
        try
        {
            // Fire-and-forget completes at once and never faults: nothing to observe.
            _ = Home.Redis.GetDatabase().ScriptEvaluateAsync(Home.Script(LuaScripts.MarkActive), [Keys.Active], [room, 2 * ProbeWindowMilliseconds], CommandFlags.FireAndForget);
        }
        catch (Exception ex) when (ex is RedisException or ObjectDisposedException)
        {
            // Home shard unreachable: the publish below fails alike, or, on another shard, goes on without the hint.
        }
    }

    private static FeedRead ToFeedRead(string room, RedisResult[] result, bool withTrace, out string mode)
    {
        var epoch = (string)result[0]!;
        var top = (ulong)(long)result[1];
        mode = (string)result[2]!;
        var publications = new List<Publication>(result.Length - 3);
        for (var i = 3; i < result.Length; i++)
        {
            if (ChannelMessages.TryParsePublication(room, (byte[])result[i]!, out var publication, out _, withTrace))
            {
                publications.Add(publication!);
            }
        }

        if (mode == "latest")
        {
            // XREVRANGE gave them newest first.
            publications.Reverse();
        }

        return new FeedRead(epoch, top, publications);
    }

    private static string NewEpoch() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
}
