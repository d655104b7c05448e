using StackExchange.Redis;
using Switchboard.Brokers;
using Switchboard.Connections;
using Switchboard.Protocol;

namespace Switchboard.Redis;

public sealed partial class RedisBroker
{
    // Rooms of a dead node cleaned up per script: each script stays short, so Redis never stalls long.
    private const int ReapBatch = 256;

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
        var remote = (RedisResult[])(await EvalAsync(LuaScripts.PresenceRead, [Keys.Members(room)], [NodeId, Keys.NodePresencePrefix(room), Keys.LivenessPrefix], cancellationToken).ConfigureAwait(false))!;
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
        var values = new RedisValue[5 + 2 * set.Count + removed.Count];
        values[0] = NodeId;
        values[1] = room;
        values[2] = KeyTtlMilliseconds;
        values[3] = full ? "1" : "0";
        values[4] = set.Count;
        var i = 5;
        foreach (var (user, count) in set)
        {
            values[i++] = user;
            values[i++] = count;
        }

        foreach (var user in removed)
        {
            values[i++] = user;
        }

        await EvalAsync(LuaScripts.PresenceWrite, PresenceKeys(room), values).ConfigureAwait(false);
    }

    /// <summary>Removes this node's presence entry in <paramref name="room"/>.</summary>
    internal async Task RemovePresenceAsync(string room)
    {
        if (_redis is null)
        {
            return;
        }

        await EvalAsync(LuaScripts.PresenceRemove, PresenceKeys(room), [NodeId, room, KeyTtlMilliseconds]).ConfigureAwait(false);
    }

    private RedisKey[] PresenceKeys(string room) => [Keys.Members(room), Keys.NodePresence(room, NodeId), Keys.Meta(room), Keys.Stream(room), Keys.NodeRooms(NodeId)];

    /// <summary>
    /// Every <see cref="RedisBrokerOptions.PresenceIntervalSeconds"/>, one script whatever the number
    /// of rooms: renews this node's liveness key (which keeps every presence entry of the node alive),
    /// cleans up after nodes whose key expired, and probes the rooms published to lately for offsets
    /// pub/sub lost. Presence counts that changed without an event are written too; an idle room costs
    /// nothing. The first beat runs at once, so the node's entries count before it serves anybody.
    /// </summary>
    private async Task HeartbeatLoopAsync(TaskCompletionSource firstBeat, CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(_options.PresenceIntervalSeconds));
        try
        {
            await Task.Yield();
            do
            {
                await BeatAsync().ConfigureAwait(false);
                firstBeat.TrySetResult();
            }
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
    }

    private async Task BeatAsync()
    {
        RedisResult[] result;
        try
        {
            result = (RedisResult[])(await EvalAsync(LuaScripts.Beat, [Keys.Liveness(NodeId), Keys.NodeIndex, Keys.Active],
                [NodeId, PresenceTimeoutMilliseconds, ProbeWindowMilliseconds, Keys.LivenessPrefix, Keys.Prefix], Stopping).ConfigureAwait(false))!;
        }
        catch (BrokerUnavailableException ex)
        {
            // The reconnect's own catch-up and presence rewrite cover the gap.
            Log.HeartbeatFailed(_logger, ex.Message);
            return;
        }

        Interlocked.Increment(ref _beats);
        // Without its liveness key (Redis restarted or flushed, or this node stalled past the timeout
        // and another reaped it) Redis's copy of this node's presence is unknown: written whole.
        var full = (long)result[0] == 0;
        foreach (var feed in _rooms.Values)
        {
            // Nothing reaches Redis when nothing changed (the writer compares with what it wrote).
            ObserveLater(feed.Presence.RequestAsync(full));
        }

        var dead = (int)(long)result[1];
        var probes = 2 + dead;
        if (Unavailable is null)
        {
            for (var i = probes; i + 2 < result.Length; i += 3)
            {
                if (_rooms.TryGetValue(Keys.RoomOfChannel((string)result[i]!), out var feed))
                {
                    feed.Probe((string)result[i + 1]!, ulong.Parse((string)result[i + 2]!, System.Globalization.CultureInfo.InvariantCulture));
                }
            }
        }

        for (var i = 2; i < probes; i++)
        {
            await ReapAsync((string)result[i]!).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Cleans up after a dead node, a batch of its rooms per script, and sends the <c>left</c> events
    /// it could not send. Several survivors may do this at once: each room is taken by one of them.
    /// What a failure leaves is taken up by the next beat that finds the node dead.
    /// </summary>
    private async Task ReapAsync(string dead)
    {
        try
        {
            while (true)
            {
                var result = (RedisResult[])(await EvalAsync(LuaScripts.Reap, [Keys.NodeRooms(dead), Keys.NodeIndex],
                    [dead, Keys.Prefix, Keys.LivenessPrefix, KeyTtlMilliseconds, ReapBatch], Stopping).ConfigureAwait(false))!;
                for (var i = 1; i + 2 < result.Length;)
                {
                    var room = (string)result[i]!;
                    var had = (int)(long)result[i + 1];
                    var count = (int)(long)result[i + 2];
                    ReportGone(room, had, result.Skip(i + 3).Take(count).Select(r => (string)r!).ToArray());
                    i += 3 + count;
                }

                var state = (long)result[0];
                if (state != 1)
                {
                    if (state == 2)
                    {
                        _nodesReaped?.Add(1);
                        Log.NodeReaped(_logger, dead);
                    }

                    return;
                }
            }
        }
        catch (BrokerUnavailableException ex)
        {
            Log.HeartbeatFailed(_logger, ex.Message);
        }
    }

    /// <summary>
    /// Sends the <c>left</c> events that a dead node could not send, for users no live node has in the
    /// room, where a hub would have sent them (presence announced, room not too big).
    /// </summary>
    private void ReportGone(string room, int had, string[] users)
    {
        if (users.Length == 0)
        {
            return;
        }

        Log.NodesReaped(_logger, room, users.Length);
        var local = Handler.LocalPresence(room);
        if (Math.Max(had, local.Sum(p => p.Value)) > _limits.MaxMembersForPresenceEvents || _policy?.AnnouncesPresence(room) == false)
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
