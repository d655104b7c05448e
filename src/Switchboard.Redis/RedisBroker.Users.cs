using StackExchange.Redis;
using Switchboard.Brokers;
using Switchboard.Connections;

namespace Switchboard.Redis;

public sealed partial class RedisBroker
{
    /// <inheritdoc/>
    /// <remarks>Published first, so a failure reaches no device and the sender gets an error; then delivered to this node's devices, whose echo is skipped.</remarks>
    public async ValueTask SendToUserAsync(string user, OutboundFrame frame, CancellationToken cancellationToken)
    {
        await PublishRawAsync(ShardOfUser(user), Keys.UserChannelName(user), ChannelMessages.Event(ChannelMessages.DirectKind, NodeId, frame), cancellationToken).ConfigureAwait(false);
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
        }
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

    internal void OnUserMessage(string user, RedisValue value)
    {
        var message = (byte[]?)value ?? [];
        if (!ChannelMessages.TryParseEvent(ChannelMessages.DirectKind, message, out var node, out var frame))
        {
            Log.Malformed(_logger, Keys.UserChannelName(user));
            return;
        }

        if (node != NodeId)
        {
            Handler.OnDirect(user, frame);
        }
    }
}
