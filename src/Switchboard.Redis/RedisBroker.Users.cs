using StackExchange.Redis;
using Switchboard.Brokers;
using Switchboard.Connections;

namespace Switchboard.Redis;

public sealed partial class RedisBroker
{
    /// <summary>
    /// How long a user's direct count lives after the last direct to them: a day. A node subscribed to
    /// the user across its expiry takes the restarted count for a new baseline, so only this bounds it.
    /// </summary>
    private const long DirectCountTtlMilliseconds = 24 * 60 * 60 * 1000;

    private long _directsMissed;

    /// <inheritdoc/>
    /// <remarks>Published first, so a failure reaches no device and the sender gets an error; then delivered to this node's devices, whose echo is skipped.</remarks>
    public async ValueTask SendToUserAsync(string user, OutboundFrame frame, CancellationToken cancellationToken)
    {
        var shard = ShardOfUser(user);
        await EvalAsync(shard, LuaScripts.SendDirect, [Keys.DirectCount(user)],
            [Keys.UserChannelName(user), ChannelMessages.Event(ChannelMessages.DirectKind, NodeId, frame), DirectCountTtlMilliseconds, shard.PublishMode], cancellationToken).ConfigureAwait(false);
        Handler.OnDirect(user, frame);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Never fails for want of Redis: a connection may open during an outage, and the subscription
    /// is made by StackExchange.Redis (or by the reconnect handler) once Redis is back.
    /// </remarks>
    public async ValueTask SubscribeUserAsync(string user, CancellationToken cancellationToken)
    {
        UserChannel channel;
        bool first;
        while (true)
        {
            channel = _users.GetOrAdd(user, static (name, broker) => new UserChannel(name, broker), this);
            if (channel.TryAddInterest(out first))
            {
                break;
            }
        }

        if (first && _shards is not null)
        {
            var shard = ShardOfUser(user);
            ChannelMessageQueue queue;
            try
            {
                queue = await SubscribeOrderedAsync(shard.Redis.GetSubscriber(), shard.Channel(Keys.UserChannelName(user)), channel, channel.Worker).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RedisException or ObjectDisposedException)
            {
                Log.CleanupFailed(_logger, "subscribing to user " + user, ex.Message);
                return;
            }

            if (!channel.TryAttach(queue))
            {
                await BestEffortAsync(queue.UnsubscribeAsync(), "unsubscribing from user " + user).ConfigureAwait(false);
                return;
            }

            // Once the subscription connection answers, the SUBSCRIBE sent before has taken effect:
            // a message sent to the user right after this reaches the new connection too.
            await BestEffortAsync(shard.Redis.GetSubscriber().PingAsync(), "subscribing to user " + user).ConfigureAwait(false);
            await BestEffortAsync(AwaitShardedSubscriptionAsync(shard, shard.Redis.GetSubscriber(), shard.Channel(Keys.UserChannelName(user))), "subscribing to user " + user).ConfigureAwait(false);
            // The baseline for counting directs this node misses later.
            await BestEffortAsync(SyncDirectsAsync(user), "subscribing to user " + user).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Has the user's direct count published on the user's channel: every node subscribed there
    /// compares it with the directs it heard since the last count (<see cref="UserChannel.OnDirectCount"/>).
    /// </summary>
    private Task<RedisResult> SyncDirectsAsync(string user)
    {
        var shard = ShardOfUser(user);
        return EvalAsync(shard, LuaScripts.SyncDirects, [Keys.DirectCount(user)], [Keys.UserChannelName(user), shard.PublishMode], Stopping);
    }

    /// <inheritdoc/>
    public async ValueTask UnsubscribeUserAsync(string user, CancellationToken cancellationToken)
    {
        if (!_users.TryGetValue(user, out var channel))
        {
            return;
        }

        Task unsubscribe = Task.CompletedTask;
        var closed = channel.RemoveInterest(queue =>
        {
            _users.TryRemove(new KeyValuePair<string, UserChannel>(user, channel));
            unsubscribe = queue?.UnsubscribeAsync() ?? Task.CompletedTask;
        });
        if (closed)
        {
            await BestEffortAsync(unsubscribe, "unsubscribing from user " + user).ConfigureAwait(false);
        }
    }

    internal void OnUserMessage(UserChannel channel, RedisValue value)
    {
        var message = (byte[]?)value ?? [];
        if (ChannelMessages.TryParseDirectCount(message, out var count))
        {
            var missed = channel.OnDirectCount(count);
            if (missed > 0)
            {
                Interlocked.Add(ref _directsMissed, missed);
                _directsUndelivered?.Add(missed);
                Log.DirectsMissed(_logger, missed, channel.User);
            }

            return;
        }

        if (!ChannelMessages.TryParseEvent(ChannelMessages.DirectKind, message, out var node, out var frame))
        {
            Log.Malformed(_logger, Keys.UserChannelName(channel.User));
            return;
        }

        channel.OnDirectHeard();
        if (node != NodeId)
        {
            Handler.OnDirect(channel.User, frame);
        }
    }

    /// <summary>Direct messages to users connected here that this node's subscriptions missed, so far (for tests).</summary>
    internal long DirectsMissed => Interlocked.Read(ref _directsMissed);
}
