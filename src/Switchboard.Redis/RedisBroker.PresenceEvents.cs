using System.Globalization;
using StackExchange.Redis;
using Switchboard.Brokers;
using Switchboard.Connections;
using Switchboard.Protocol;

namespace Switchboard.Redis;

public sealed partial class RedisBroker
{
    // A room's member nodes rarely change between two writes; each change costs one retry.
    private const int PresenceScriptAttempts = 8;

    /// <inheritdoc/>
    /// <remarks>
    /// Written with this node's presence, in the room's script, which publishes the event only when no
    /// other node's entry has the user (a join) or still has it (a leave), and the room's last event of
    /// the user was the other one; then the event is delivered here. <paramref name="frame"/> is the
    /// event the hub encoded: the script builds the same bytes.
    /// </remarks>
    public async ValueTask AnnouncePresenceAsync(string room, string user, bool joined, OutboundFrame frame, CancellationToken cancellationToken)
    {
        var change = new PresenceChange(user, joined);
        var announced = _rooms.TryGetValue(room, out var feed) ? feed.Presence.RequestAsync(announce: change) : DecidePresenceAsync(room, [change]);
        await WithDeadline(announced, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Decides <paramref name="changes"/> of <paramref name="room"/> without writing this node's entry (it has none, or is gone).</summary>
    internal Task DecidePresenceAsync(string room, IReadOnlyCollection<PresenceChange> changes) =>
        RunPresenceScriptAsync(room, NodeId, 'd', [], [], changes, heal: false, reapLimit: -1, [], writer: null, CancellationToken.None);

    /// <summary>
    /// Whether <paramref name="room"/> gets <c>joined</c>/<c>left</c> events from this node, which has
    /// <paramref name="members"/> there: as the hub decides (presence not hidden, not too many members).
    /// </summary>
    internal bool AnnouncesPresence(string room, int members) =>
        members <= _limits.MaxMembersForPresenceEvents && _policy?.AnnouncesPresence(room) != false;

    /// <summary>
    /// Runs <see cref="LuaScripts.PresenceWrite"/> for <paramref name="node"/>'s entry in <paramref name="room"/>
    /// (MODE <paramref name="mode"/>), with the hashes of <paramref name="otherNodes"/>, and again with the
    /// room's member nodes when those were not all of them. Delivers here the events it published.
    /// Returns whether the node has users in the room, the other member nodes it read, and how many events it sent.
    /// </summary>
    /// <remarks>
    /// A write of <paramref name="writer"/> runs again through the writer, as its first run was issued:
    /// under its lock, so that it cannot reach Redis after the writer removed the node's entry.
    /// </remarks>
    internal async Task<(bool Present, string[] OtherNodes, int Events)> RunPresenceScriptAsync(string room, string node, char mode,
        IReadOnlyCollection<KeyValuePair<string, int>> set, IReadOnlyCollection<string> removed, IReadOnlyCollection<PresenceChange> changes,
        bool heal, int reapLimit, string[] otherNodes, PresenceWriter? writer, CancellationToken cancellationToken)
    {
        var shard = ShardOfRoom(room);
        var deciding = changes.Count > 0 || heal || reapLimit >= 0;
        var (joinedHead, joinedTail) = deciding ? PresenceTemplate(room, joined: true) : ([], []);
        var (leftHead, leftTail) = deciding ? PresenceTemplate(room, joined: false) : ([], []);
        for (var attempt = 1; ; attempt++)
        {
            var run = attempt == 1 || writer is null ? Run(mode) : writer.RunAgain(mode, Run);
            var result = (RedisResult[])(await run.ConfigureAwait(false))!;
            var state = (long)result[0];
            if (state == -1)
            {
                otherNodes = result.Skip(1).Select(r => (string)r!).Where(other => other != node).ToArray();
                if (attempt < PresenceScriptAttempts)
                {
                    if (writer is not null && Volatile.Read(ref _presenceRetryHold) is { } hold)
                    {
                        hold.Parked.TrySetResult();
                        await hold.Released.Task.ConfigureAwait(false);
                    }

                    continue;
                }

                throw new BrokerUnavailableException(string.Create(CultureInfo.InvariantCulture, $"redis: the member nodes of room {room} changed {attempt} times in a row"));
            }

            for (var i = 1; i + 1 < result.Length; i += 2)
            {
                var joined = (long)result[i + 1] == 1;
                Handler.OnPresenceChange(room, OutboundFrame.Text(ServerMessages.PresenceChange(joined, room, (string)result[i]!)));
            }

            return (state == 1, otherNodes, (result.Length - 1) / 2);
        }

        // Local, so that a run again names the member nodes the last run sent back.
        Task<RedisResult> Run(char runMode)
        {
            RedisKey[] keys = [.. PresenceKeys(room, node), .. otherNodes.Select(other => Keys.NodePresence(room, other))];
            var values = new List<RedisValue>(14 + otherNodes.Length + 2 * set.Count + removed.Count + 2 * changes.Count)
            {
                node, KeyTtlMilliseconds, runMode.ToString(), set.Count, removed.Count, changes.Count, heal ? "1" : "0",
                reapLimit, Keys.RoomChannelName(room), shard.PublishMode, joinedHead, joinedTail, leftHead, leftTail,
            };
            values.AddRange(otherNodes.Select(other => (RedisValue)other));
            foreach (var (user, count) in set)
            {
                values.Add(user);
                values.Add(count);
            }

            values.AddRange(removed.Select(user => (RedisValue)user));
            foreach (var change in changes)
            {
                values.Add(change.User);
                values.Add(change.Joined ? "1" : "0");
            }

            return EvalAsync(shard, LuaScripts.PresenceWrite, keys, [.. values], cancellationToken);
        }
    }

    /// <summary>
    /// Holds this node's presence writes that the room's member nodes sent back to be run again, before
    /// they run again; for tests. Completes once one is held; <see cref="ReleasePresenceRetries"/> lets them go.
    /// </summary>
    internal Task HoldPresenceRetriesAsync()
    {
        var hold = new TestHold();
        Volatile.Write(ref _presenceRetryHold, hold);
        return hold.Parked.Task;
    }

    /// <summary>Lets go of the presence writes held by <see cref="HoldPresenceRetriesAsync"/>.</summary>
    internal void ReleasePresenceRetries() => Interlocked.Exchange(ref _presenceRetryHold, null)?.Released.TrySetResult();

    /// <summary>
    /// This node's presence event message on the room channel, cut where the user goes: the script
    /// joins the pieces around each user it announces. A brace can be in neither a user's name nor a
    /// room's, and JSON does not escape it, so the placeholder <c>{}</c> appears once, as it is.
    /// </summary>
    private (byte[] Head, byte[] Tail) PresenceTemplate(string room, bool joined)
    {
        var message = ChannelMessages.Event(ChannelMessages.PresenceKind, NodeId, OutboundFrame.Text(ServerMessages.PresenceChange(joined, room, "{}")));
        var at = message.AsSpan().LastIndexOf("{}"u8);
        return (message[..at], message[(at + 2)..]);
    }
}
