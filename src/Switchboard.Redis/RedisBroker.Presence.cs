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

        await PublishRawAsync(ShardOfRoom(room), Keys.RoomChannelName(room), ChannelMessages.Event(ChannelMessages.PresenceKind, NodeId, frame), cancellationToken).ConfigureAwait(false);
        Handler.OnPresenceChange(room, frame);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Three steps, each on the keys of one slot: the room's member nodes (room's shard), which of them
    /// are live (home shard), then the live ones' hashes (room's shard). A dead node's users are gone
    /// from the answer as soon as its liveness ends, before anyone cleans up after it.
    /// </remarks>
    public async ValueTask<IReadOnlyList<KeyValuePair<string, int>>> PresenceAsync(string room, CancellationToken cancellationToken)
    {
        var shard = ShardOfRoom(room);
        var database = shard.Redis.GetDatabase();
        var members = await WithDeadline(database.SetMembersAsync(Keys.Members(room)), cancellationToken).ConfigureAwait(false);
        var others = members.Select(m => (string)m!).Where(n => n != NodeId).ToArray();
        var live = await LiveNodesAsync(others, cancellationToken).ConfigureAwait(false);
        var hashes = await WithDeadline(Task.WhenAll(live.Select(node => database.HashGetAllAsync(Keys.NodePresence(room, node)))), cancellationToken).ConfigureAwait(false);
        var users = new Dictionary<string, int>(StringComparer.Ordinal);
        // This node answers for itself from memory: fresher than its entry in Redis.
        foreach (var (user, count) in Handler.LocalPresence(room))
        {
            users[user] = count;
        }

        foreach (var entry in hashes.SelectMany(h => h))
        {
            var user = (string)entry.Name!;
            users[user] = users.GetValueOrDefault(user) + (int)entry.Value;
        }

        return users.OrderBy(p => p.Key, StringComparer.Ordinal).ToArray();
    }

    /// <summary>The nodes among <paramref name="nodes"/> whose liveness has not ended, by the node index on the home shard.</summary>
    private async Task<string[]> LiveNodesAsync(string[] nodes, CancellationToken cancellationToken)
    {
        if (nodes.Length == 0)
        {
            return [];
        }

        var live = (RedisResult[])(await EvalAsync(Home, LuaScripts.LiveNodes, [Keys.NodeIndex], nodes.Select(n => (RedisValue)n).ToArray(), cancellationToken).ConfigureAwait(false))!;
        return live.Select(r => (string)r!).ToArray();
    }

    /// <summary>
    /// Writes this node's presence in <paramref name="room"/>: counts to set and users to delete, or the
    /// whole hash, and decides <paramref name="changes"/> (and with <paramref name="heal"/> a <c>joined</c>
    /// for each of its users not announced) in the same script. The room goes into this node's list of
    /// rooms (home shard) in the same breath as the write when the node has users there
    /// (<paramref name="present"/>), so a survivor that finds the node dead finds the room; it leaves the
    /// list once the write emptied the node's hash. Each shard runs one connection's commands in order,
    /// so a removal issued later lands after both; <paramref name="writer"/>, which issues this under its
    /// lock, issues a run again too. Returns the room's other member nodes it read.
    /// </summary>
    internal async Task<string[]> WritePresenceAsync(string room, bool full, bool present, IReadOnlyCollection<KeyValuePair<string, int>> set, IReadOnlyCollection<string> removed,
        IReadOnlyCollection<PresenceChange> changes, bool heal, string[] otherNodes, PresenceWriter writer)
    {
        var listed = present ? Home.Redis.GetDatabase().SetAddAsync(Keys.NodeRooms(NodeId), room) : Task.FromResult(true);
        var write = RunPresenceScriptAsync(room, NodeId, full ? '1' : '0', set, removed, changes, heal, reapLimit: -1, otherNodes, writer, CancellationToken.None);
        await WithDeadline(Task.WhenAll(listed, write), CancellationToken.None).ConfigureAwait(false);
        var (stillPresent, others, _) = await write.ConfigureAwait(false);
        if (!stillPresent)
        {
            await WithDeadline(Home.Redis.GetDatabase().SetRemoveAsync(Keys.NodeRooms(NodeId), room), CancellationToken.None).ConfigureAwait(false);
        }

        return others;
    }

    /// <summary>Removes this node's presence entry in <paramref name="room"/>, then the room from this node's list.</summary>
    internal async Task RemovePresenceAsync(string room)
    {
        if (_shards is null)
        {
            return;
        }

        await EvalAsync(ShardOfRoom(room), LuaScripts.PresenceRemove, PresenceKeys(room, NodeId), [NodeId, KeyTtlMilliseconds]).ConfigureAwait(false);
        await WithDeadline(Home.Redis.GetDatabase().SetRemoveAsync(Keys.NodeRooms(NodeId), room), CancellationToken.None).ConfigureAwait(false);
    }

    private RedisKey[] PresenceKeys(string room, string node) => [Keys.Members(room), Keys.NodePresence(room, node), Keys.Meta(room), Keys.Stream(room), Keys.Announced(room)];

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
                if (Volatile.Read(ref _beatHold) is { } hold)
                {
                    hold.Parked.TrySetResult();
                    await hold.Released.Task.WaitAsync(stopping).ConfigureAwait(false);
                }

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

    /// <summary>
    /// Stops this node's heartbeats, as a node that stalls (a long pause, a partition from Redis) while
    /// its other commands go on; for tests. Completes once no beat is running; <see cref="ReleaseBeats"/> resumes.
    /// </summary>
    internal Task HoldBeatsAsync()
    {
        var hold = new TestHold();
        Volatile.Write(ref _beatHold, hold);
        return hold.Parked.Task;
    }

    /// <summary>Resumes the heartbeats stopped by <see cref="HoldBeatsAsync"/>; the next beat runs at once.</summary>
    internal void ReleaseBeats() => Interlocked.Exchange(ref _beatHold, null)?.Released.TrySetResult();

    private async Task BeatAsync()
    {
        RedisResult[] result;
        try
        {
            result = (RedisResult[])(await EvalAsync(Home, LuaScripts.Beat, [Keys.NodeIndex, Keys.Active],
                [NodeId, PresenceTimeoutMilliseconds, ProbeWindowMilliseconds], Stopping).ConfigureAwait(false))!;
        }
        catch (BrokerUnavailableException ex)
        {
            // The reconnect's own catch-up and presence rewrite cover the gap.
            Log.HeartbeatFailed(_logger, ex.Message);
            return;
        }

        Interlocked.Increment(ref _beats);
        // Not live any more (Redis restarted or flushed, or this node stalled past the timeout and
        // another may be cleaning up after it) Redis's copy of this node's presence is unknown: written
        // whole, and once more at the next beat, in case a survivor's clean-up, taken before this beat
        // renewed the node, removes some of it after this write.
        var full = (long)result[0] == 0 || Interlocked.Exchange(ref _rewriteAgain, 0) == 1;
        if ((long)result[0] == 0)
        {
            Volatile.Write(ref _rewriteAgain, 1);
        }

        foreach (var feed in _rooms.Values)
        {
            // Nothing reaches Redis when nothing changed (the writer compares with what it wrote). A
            // rewrite also announces again the users a survivor may have reported gone meanwhile.
            ObserveLater(feed.Presence.RequestAsync(full, heal: full));
        }

        var dead = (int)(long)result[1];
        var probes = 2 + dead;
        if (Unavailable is null)
        {
            await ProbeAsync(result.Skip(probes).Select(r => (string)r!)).ConfigureAwait(false);
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
                var taken = (RedisResult[])(await EvalAsync(Home, LuaScripts.ReapTake, [Keys.NodeIndex, Keys.NodeRooms(dead)], [dead, ReapBatch], Stopping).ConfigureAwait(false))!;
                await Task.WhenAll(taken.Skip(1).Select(r => ReapRoomAsync(dead, (string)r!))).ConfigureAwait(false);
                var state = (long)taken[0];
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
    /// Removes a dead node's presence in one room and, in the same script, sends the <c>left</c> events
    /// it could not send: for its users no other node's entry has (a dead node's entries count until
    /// they are removed, and their removal then sends the events), where a hub would have sent them
    /// (presence announced, room not too big).
    /// </summary>
    private async Task ReapRoomAsync(string dead, string room)
    {
        var local = Handler.LocalPresence(room).Sum(p => p.Value);
        var reapLimit = AnnouncesPresence(room, local) ? _limits.MaxMembersForPresenceEvents : -1;
        var (_, _, left) = await RunPresenceScriptAsync(room, dead, 'r', [], [], [], heal: false, reapLimit, [], writer: null, Stopping).ConfigureAwait(false);
        if (left > 0)
        {
            Log.NodesReaped(_logger, room, left);
        }
    }

    /// <summary>
    /// The loss probe: reads the position of each recently published room this node serves (on the
    /// room's shard), and of each room whose last probe saw a top it has not delivered yet (the room
    /// may have left the recent set meanwhile: a starved heartbeat must not forget a loss it saw), and
    /// lets its feed compare it with what it delivered.
    /// </summary>
    private async Task ProbeAsync(IEnumerable<string> active)
    {
        var served = active.Select(room => _rooms.TryGetValue(room, out var feed) ? feed : null).OfType<RoomFeed>()
            .Union(_rooms.Values.Where(feed => feed.IsBehindProbe))
            .ToArray();
        // Before the read: what is delivered while it is on its way may be above the top it returns.
        var deliveredBefore = served.Select(feed => feed.Delivered).ToArray();
        try
        {
            var positions = await WithDeadline(Task.WhenAll(served.Select(feed => feed.Shard.Redis.GetDatabase().HashGetAsync(Keys.Meta(feed.Room), ["epoch", "top"]))), Stopping).ConfigureAwait(false);
            for (var i = 0; i < served.Length; i++)
            {
                var top = positions[i][1].IsNull ? 0UL : (ulong)(long)positions[i][1];
                served[i].Probe(positions[i][0].IsNull ? string.Empty : (string)positions[i][0]!, top, deliveredBefore[i]);
            }
        }
        catch (BrokerUnavailableException ex)
        {
            Log.HeartbeatFailed(_logger, ex.Message);
        }
    }
}
