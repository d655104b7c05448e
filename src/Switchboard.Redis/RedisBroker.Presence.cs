using StackExchange.Redis;
using Switchboard.Brokers;
using Switchboard.Connections;
using Switchboard.Protocol;

namespace Switchboard.Redis;

public sealed partial class RedisBroker
{
    // Rooms refreshed concurrently per heartbeat: StackExchange.Redis pipelines them on one connection.
    private const int HeartbeatBatch = 256;

    /// <inheritdoc/>
    /// <remarks>
    /// The node's presence entry is written first, so a node that receives the event and asks for
    /// presence sees the change; then the event is published, then delivered here.
    /// </remarks>
    public async ValueTask PublishPresenceAsync(string room, OutboundFrame frame, CancellationToken cancellationToken)
    {
        if (_rooms.TryGetValue(room, out var feed))
        {
            await WithDeadline(feed.Presence.RequestAsync(), cancellationToken).ConfigureAwait(false);
        }

        await PublishRawAsync(Keys.RoomChannel(room), ChannelMessages.Event(ChannelMessages.PresenceKind, NodeId, frame), cancellationToken).ConfigureAwait(false);
        Handler.OnPresenceChange(room, frame);
    }

    /// <inheritdoc/>
    public async ValueTask<IReadOnlyList<KeyValuePair<string, int>>> PresenceAsync(string room, CancellationToken cancellationToken)
    {
        var remote = (RedisResult[])(await EvalAsync(LuaScripts.PresenceRead, [Keys.Nodes(room)], [NodeId, Keys.NodePresencePrefix(room)], cancellationToken).ConfigureAwait(false))!;
        var users = new Dictionary<string, int>(StringComparer.Ordinal);
        // This node answers for itself from memory: fresher than its entry in Redis.
        foreach (var (user, count) in Handler.LocalPresence(room))
        {
            users[user] = count;
        }

        for (var i = 0; i + 1 < remote.Length; i += 2)
        {
            var user = (string)remote[i]!;
            users[user] = users.GetValueOrDefault(user) + (int)remote[i + 1];
        }

        return users.OrderBy(p => p.Key, StringComparer.Ordinal).ToArray();
    }

    /// <summary>Writes this node's presence in <paramref name="room"/>: counts to set and users to delete, or the whole hash.</summary>
    internal async Task WritePresenceAsync(string room, bool full, IReadOnlyCollection<KeyValuePair<string, int>> set, IReadOnlyCollection<string> removed)
    {
        var values = new RedisValue[4 + 2 * set.Count + removed.Count];
        values[0] = NodeId;
        values[1] = PresenceTimeoutMilliseconds;
        values[2] = full ? "1" : "0";
        values[3] = set.Count;
        var i = 4;
        foreach (var (user, count) in set)
        {
            values[i++] = user;
            values[i++] = count;
        }

        foreach (var user in removed)
        {
            values[i++] = user;
        }

        await EvalAsync(LuaScripts.PresenceWrite, [Keys.Nodes(room), Keys.NodePresence(room, NodeId)], values).ConfigureAwait(false);
    }

    /// <summary>Removes this node's presence entry in <paramref name="room"/>.</summary>
    internal async Task RemovePresenceAsync(string room)
    {
        if (_redis is null)
        {
            return;
        }

        await EvalAsync(LuaScripts.PresenceRemove, [Keys.Nodes(room), Keys.NodePresence(room, NodeId)], [NodeId]).ConfigureAwait(false);
    }

    /// <summary>
    /// Every <see cref="RedisBrokerOptions.PresenceIntervalSeconds"/>: renews this node's presence
    /// entries, keeps its rooms' streams alive, reaps dead nodes (and sends the <c>left</c> events
    /// they never sent), and checks each room for offsets pub/sub lost.
    /// </summary>
    private async Task HeartbeatLoopAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(_options.PresenceIntervalSeconds));
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                if (Unavailable is not null)
                {
                    // The reconnect's own catch-up and presence rewrite cover the gap.
                    continue;
                }

                foreach (var batch in _rooms.Values.Chunk(HeartbeatBatch))
                {
                    await Task.WhenAll(batch.Select(HeartbeatAsync)).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
    }

    private async Task HeartbeatAsync(RoomFeed feed)
    {
        var room = feed.Room;
        try
        {
            var result = (RedisResult[])(await EvalAsync(LuaScripts.Heartbeat, [Keys.Nodes(room), Keys.NodePresence(room, NodeId), Keys.Meta(room), Keys.Stream(room)],
                [NodeId, PresenceTimeoutMilliseconds, KeyTtlMilliseconds, Keys.NodePresencePrefix(room)], Stopping).ConfigureAwait(false))!;
            // Connection counts change without events (a second device), and big rooms or rooms whose
            // presence is hidden have no events at all: each heartbeat writes what changed. When Redis
            // lost the entry (restarted, flushed, or a refresh came too late) it is written whole.
            ObserveLater(feed.Presence.RequestAsync(full: (long)result[0] == 0));

            feed.Probe((string)result[1]!, (ulong)(long)result[2]);
            var reaped = (long)result[3];
            if (reaped > 0)
            {
                _nodesReaped?.Add(reaped);
                ReportGone(room, result.Skip(4).Select(r => (string)r!).ToArray());
            }
        }
        catch (Exception ex) when (ex is BrokerUnavailableException or OperationCanceledException)
        {
            Log.HeartbeatFailed(_logger, room, ex.Message);
        }
    }

    /// <summary>
    /// Sends the <c>left</c> events that dead nodes could not send, for users no live node has in the
    /// room, where the hub would have sent them (presence announced, room not too big).
    /// </summary>
    private void ReportGone(string room, string[] users)
    {
        Log.NodesReaped(_logger, room, users.Length);
        var local = Handler.LocalPresence(room);
        if (local.Sum(p => p.Value) > _limits.MaxMembersForPresenceEvents || _policy?.AnnouncesPresence(room) == false)
        {
            return;
        }

        var here = local.Select(p => p.Key).ToHashSet(StringComparer.Ordinal);
        foreach (var user in users.Where(u => !here.Contains(u)))
        {
            var frame = OutboundFrame.Text(ServerMessages.PresenceChange(joined: false, room, user));
            ObserveLater(PublishRawAsync(Keys.RoomChannel(room), ChannelMessages.Event(ChannelMessages.PresenceKind, NodeId, frame), Stopping));
            Handler.OnPresenceChange(room, frame);
        }
    }
}
