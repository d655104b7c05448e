using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Options;
using Switchboard.Brokers;
using Switchboard.Connections;
using Switchboard.Identity;
using Switchboard.Metrics;
using Switchboard.Options;
using Switchboard.Protocol;
using Switchboard.Telemetry;

namespace Switchboard.Hub;

/// <summary>
/// This node's rooms and users: who is a member where, and the local end of every delivery. The
/// broker orders and carries publications; the hub turns them into queue writes.
/// </summary>
public sealed partial class SwitchboardHub : IAsyncDisposable, IDisposable
{
    private readonly ConcurrentDictionary<string, LocalRoom> _rooms = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, PresenceCoalescer> _presenceEvents = new(StringComparer.Ordinal);
    private readonly IBroker _broker;
    private readonly RoomPolicy _policy;
    private readonly SwitchboardMetrics _metrics;
    private readonly SwitchboardOptions _options;
    private readonly TimeProvider _time;
    private readonly ResyncPacer _resync;
    // One delegate for every room, rather than one bound to this hub per room created.
    private readonly Action<LocalRoom> _retire;

    /// <summary>Creates the hub and attaches it to <paramref name="broker"/>.</summary>
    public SwitchboardHub(IBroker broker, RoomPolicy policy, SwitchboardMetrics metrics, IOptions<SwitchboardOptions> options, TimeProvider time, ShutdownState shutdown)
    {
        ArgumentNullException.ThrowIfNull(shutdown);
        ArgumentNullException.ThrowIfNull(time);
        _time = time;
        ArgumentNullException.ThrowIfNull(policy);
        _policy = policy;
        ArgumentNullException.ThrowIfNull(broker);
        ArgumentNullException.ThrowIfNull(options);
        _broker = broker;
        _metrics = metrics;
        _options = options.Value;
        _resync = new ResyncPacer(_options.Limits.ResyncRoomsPerSecond, time, shutdown, DepartAsync);
        _retire = Retire;
        broker.Attach(this);
        metrics.Meter.CreateObservableGauge("switchboard.rooms", () => RoomCount, description: "Protocol rooms with members on this node.");
        metrics.Meter.CreateObservableGauge("switchboard.users", () => UserCount, description: "Distinct users connected to this node's protocol endpoint.");
        metrics.Meter.CreateObservableGauge("switchboard.resync.pending", () => _resync.Pending, description: "Members of rooms whose stream was lost, detached and waiting to be told to re-join (paced by Limits:ResyncRoomsPerSecond).");
    }

    /// <summary>The pace at which members of lost rooms are told to re-join.</summary>
    internal ResyncPacer Resync => _resync;

    /// <summary>Stops telling members of lost rooms to re-join (the node stops; its connections close).</summary>
    public ValueTask DisposeAsync() => _resync.DisposeAsync();

    /// <summary>As <see cref="DisposeAsync"/>, for a container disposed synchronously: the pacer's loop ends on its own.</summary>
    public void Dispose() => _resync.Dispose();

    /// <summary>Rooms whose presence-event rate is remembered on this node (those with members, and those retired recently under load).</summary>
    internal int PresenceRateCount => _presenceEvents.Count;

    /// <summary>The number of rooms with at least one member on this node.</summary>
    public int RoomCount => _rooms.Count;

    /// <summary>Rooms with members on this node: name, connections, distinct users.</summary>
    public IReadOnlyList<(string Room, int Connections, int Users)> Rooms() =>
        _rooms.Values.Select(r => (r.Name, r.MemberCount, r.UserCount)).OrderBy(r => r.Name, StringComparer.Ordinal).ToArray();

    /// <summary>
    /// Makes <paramref name="connection"/> a member of <paramref name="room"/> and queues, in this
    /// order: the join reply (when <paramref name="id"/> is set; carrying recovered publications when
    /// <paramref name="since"/> is set), or else the recovered publications as plain messages; then
    /// every later publication.
    /// </summary>
    /// <remarks>
    /// With <paramref name="recover"/> false (the room's history is hidden from this connection), a
    /// <paramref name="since"/> is answered with <c>recovered:false</c> and no publications.
    /// </remarks>
    internal async ValueTask<ProtocolError?> JoinAsync(Connection connection, string room, StreamPosition? since, bool recover, ReadOnlyMemory<byte> id, CancellationToken cancellationToken)
    {
        using var activity = Spans.Start(SwitchboardTracing.JoinSpan, room);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(TraceTags.Session, connection.Session);
            activity.SetTag(TraceTags.User, connection.User);
        }

        try
        {
            var error = await JoinCoreAsync(connection, room, since, recover, id, activity, cancellationToken).ConfigureAwait(false);
            if (error is { } failed)
            {
                Spans.Failed(activity, failed.Code, failed.Message);
            }

            return error;
        }
        catch (Exception ex)
        {
            Spans.Failed(activity, ex);
            throw;
        }
    }

    private async ValueTask<ProtocolError?> JoinCoreAsync(Connection connection, string room, StreamPosition? since, bool recover, ReadOnlyMemory<byte> id, Activity? activity, CancellationToken cancellationToken)
    {
        if (connection.JoinedRooms is { } joined && joined.TryGetValue(room, out var existing))
        {
            if (existing.IsCurrent)
            {
                return new ProtocolError(ErrorCodes.AlreadyJoined, $"already a member of {room}");
            }

            // Ended by the server (told removed after a stream loss): this join starts a new membership.
            connection.Rooms.Remove(room);
        }

        if (connection.Rooms.Count >= _options.Limits.MaxRoomsPerConnection)
        {
            ForgetEndedMemberships(connection);
        }

        if (connection.Rooms.Count >= _options.Limits.MaxRoomsPerConnection)
        {
            return new ProtocolError(ErrorCodes.TooManyRooms, $"a connection may join at most {_options.Limits.MaxRoomsPerConnection} rooms");
        }

        var subscription = new RoomSubscription(connection, room, _options.Limits.MaxQueuedMessages);
        connection.Rooms.Add(room, subscription);
        StreamRead read;
        try
        {
            await AddMemberAsync(subscription, cancellationToken).ConfigureAwait(false);
            read = recover
                ? await ReadStreamAsync(SwitchboardTracing.StreamReadSpan, room, since, _options.History.Size, cancellationToken).ConfigureAwait(false)
                : await ReadStreamAsync(SwitchboardTracing.StreamReadSpan, room, null, 0, cancellationToken).ConfigureAwait(false);
            if (!recover && since is not null)
            {
                read = read with { Recovered = false };
            }

            read = FitReply(read);
        }
        catch (BrokerUnavailableException)
        {
            // A join that failed leaves nothing behind: the client may retry it as if it never happened.
            connection.Rooms.Remove(room);
            await RemoveMemberAsync(subscription, CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        var first = new List<OutboundFrame>(1);
        if (!id.IsEmpty)
        {
            var publications = since is null ? null : read.Publications.Select(p => p.Json).ToArray();
            first.Add(OutboundFrame.Text(ServerMessages.StreamReply(id.Span, read.Top, read.Recovered, publications, room)));
        }
        else if (since is not null)
        {
            first.AddRange(read.Publications.Select(p => p.LiveFrame));
        }

        subscription.GoLive(first, read.Top.Offset);
        TagRead(activity, since, read);
        return null;
    }

    /// <summary>Ends <paramref name="connection"/>'s membership of <paramref name="room"/>.</summary>
    internal async ValueTask<ProtocolError?> LeaveAsync(Connection connection, string room, CancellationToken cancellationToken)
    {
        if (connection.JoinedRooms is not { } rooms || !rooms.Remove(room, out var subscription))
        {
            return new ProtocolError(ErrorCodes.NotJoined, $"not a member of {room}");
        }

        await RemoveMemberAsync(subscription, cancellationToken).ConfigureAwait(false);
        return null;
    }

    /// <summary>
    /// Publishes to <paramref name="room"/>. The memory broker copies <paramref name="payload"/> into the
    /// publication's frame; another broker may keep it until the publish completes, so it must not change before then.
    /// </summary>
    public ValueTask<StreamPosition> PublishAsync(string room, string? from, ReadOnlyMemory<byte> payload, bool isBinary, CancellationToken cancellationToken) =>
        PublishAsync(room, from, payload, isBinary, idempotencyKey: null, cancellationToken);

    /// <summary>
    /// Publishes to <paramref name="room"/>, or, when <paramref name="idempotencyKey"/> was used there
    /// within <c>History:IdempotencyWindowSeconds</c>, answers with the first publication's position
    /// and appends nothing (see <see cref="IBroker"/>).
    /// </summary>
    public ValueTask<StreamPosition> PublishAsync(string room, string? from, ReadOnlyMemory<byte> payload, bool isBinary, string? idempotencyKey, CancellationToken cancellationToken)
    {
        _metrics.Publications.Add(1);
        // The span starts inside an async method, so that it is current for the broker call and no longer
        // for the caller once the publish completes.
        return SwitchboardTracing.Source.HasListeners()
            ? TracedPublishAsync(room, from, payload, isBinary, idempotencyKey, cancellationToken)
            : _broker.PublishAsync(room, from, payload, isBinary, idempotencyKey, cancellationToken);
    }

    private async ValueTask<StreamPosition> TracedPublishAsync(string room, string? from, ReadOnlyMemory<byte> payload, bool isBinary, string? idempotencyKey, CancellationToken cancellationToken)
    {
        using var activity = Spans.Start(SwitchboardTracing.PublishSpan, room, ActivityKind.Producer, "send", "publish");
        try
        {
            var position = await _broker.PublishAsync(room, from, payload, isBinary, idempotencyKey, cancellationToken).ConfigureAwait(false);
            if (activity is { IsAllDataRequested: true })
            {
                activity.SetTag(TraceTags.Offset, (long)position.Offset);
                if (from is not null)
                {
                    activity.SetTag(TraceTags.User, from);
                }
            }

            return position;
        }
        catch (Exception ex)
        {
            Spans.Failed(activity, ex);
            throw;
        }
    }

    /// <summary>The users of <paramref name="room"/> with their connection counts, across all nodes.</summary>
    public async ValueTask<IReadOnlyList<KeyValuePair<string, int>>> PresenceAsync(string room, CancellationToken cancellationToken)
    {
        using var activity = Spans.Start(SwitchboardTracing.PresenceSpan, room);
        try
        {
            return await _broker.PresenceAsync(room, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Spans.Failed(activity, ex);
            throw;
        }
    }

    /// <summary>Null while the node's broker can serve; otherwise why it cannot.</summary>
    public string? Unavailable => _broker.Unavailable;

    /// <summary>Reads the room's retained history: its newest publications that fit in <c>Limits:MaxReplyBytes</c>.</summary>
    public async ValueTask<StreamRead> HistoryAsync(string room, StreamPosition? since, int? limit, CancellationToken cancellationToken)
    {
        var max = _options.History.Size;
        var read = await ReadStreamAsync(SwitchboardTracing.HistorySpan, room, since, Math.Min(limit ?? max, max), cancellationToken).ConfigureAwait(false);
        return FitReply(read);
    }

    /// <summary>Reads the room's stream in a span named <paramref name="span"/>, tagged with what the read found.</summary>
    private ValueTask<StreamRead> ReadStreamAsync(string span, string room, StreamPosition? since, int limit, CancellationToken cancellationToken)
    {
        return SwitchboardTracing.Source.HasListeners()
            ? TracedAsync(span, room, since, limit, cancellationToken)
            : _broker.ReadStreamAsync(room, since, limit, cancellationToken);

        async ValueTask<StreamRead> TracedAsync(string span, string room, StreamPosition? since, int limit, CancellationToken cancellationToken)
        {
            using var activity = Spans.Start(span, room);
            try
            {
                var read = await _broker.ReadStreamAsync(room, since, limit, cancellationToken).ConfigureAwait(false);
                TagRead(activity, since, read);
                return read;
            }
            catch (Exception ex)
            {
                Spans.Failed(activity, ex);
                throw;
            }
        }
    }

    /// <summary>Tags a join or read span with what the stream read found (the recovery).</summary>
    private static void TagRead(Activity? activity, StreamPosition? since, StreamRead read)
    {
        if (activity is not { IsAllDataRequested: true, IsStopped: false })
        {
            return;
        }

        activity.SetTag(TraceTags.Offset, (long)read.Top.Offset);
        activity.SetTag(TraceTags.RecoveryRequested, since is not null);
        activity.SetTag(TraceTags.PublicationCount, read.Publications.Count);
        if (read.Recovered is { } recovered)
        {
            activity.SetTag(TraceTags.Recovered, recovered);
        }
    }

    /// <summary>Removes everything <paramref name="connection"/> holds in the hub. Called once by its owner, last.</summary>
    internal async ValueTask RemoveConnectionAsync(Connection connection)
    {
        foreach (var subscription in connection.JoinedRooms?.Values ?? Enumerable.Empty<RoomSubscription>())
        {
            try
            {
                await RemoveMemberAsync(subscription, CancellationToken.None).ConfigureAwait(false);
            }
            catch (BrokerUnavailableException)
            {
                // Local state is already gone; the broker's view (interest, presence) expires on its own.
            }
        }

        connection.JoinedRooms?.Clear();
        try
        {
            await RemoveUserAsync(connection).ConfigureAwait(false);
        }
        catch (BrokerUnavailableException)
        {
            // As above: the user entry is removed locally before the broker is told.
        }
    }

    /// <summary>
    /// Whether arrivals and departures in <paramref name="room"/> are announced: not where presence is
    /// hidden, and not in rooms so large that every arrival would cost as many deliveries as members.
    /// </summary>
    private bool AnnouncesPresence(LocalRoom room) =>
        room.MemberCount <= _options.Limits.MaxMembersForPresenceEvents && _policy.AnnouncesPresence(room.Name);

    /// <summary>
    /// Adds the member to its room's coordinator and waits until the node's broker subscription of the
    /// room is ready: only then may the member read the stream, or offsets published between its read
    /// and the subscription would reach it by neither path.
    /// </summary>
    private async ValueTask AddMemberAsync(RoomSubscription subscription, CancellationToken cancellationToken)
    {
        while (true)
        {
            // No side effect in the factory: it may run on several racing threads, and only the
            // instance the dictionary keeps is ever used.
            var room = _rooms.GetOrAdd(subscription.Room, static (name, hub) => new LocalRoom(name, hub._broker, hub._retire, hub.PresenceEventsOf(name)), this);
            var ready = room.TryAdd(subscription, out var firstOfUser);
            if (ready is null)
            {
                continue;
            }

            await ready.WaitAsync(cancellationToken).ConfigureAwait(false);
            room.Settle(ready);
            if (firstOfUser && AnnouncesPresence(room) && room.PresenceEvents.Announce(subscription.Connection.User, joined: true) is { } joinedEvent)
            {
                await _broker.AnnouncePresenceAsync(room.Name, subscription.Connection.User, joined: true, joinedEvent, cancellationToken).ConfigureAwait(false);
            }

            return;
        }
    }

    private ValueTask RemoveMemberAsync(RoomSubscription subscription, CancellationToken cancellationToken)
    {
        subscription.MarkLeft();
        return DepartAsync(subscription, cancellationToken);
    }

    /// <summary>
    /// Drops the entries of memberships that ended without the connection's leave (told <c>removed</c>
    /// after a stream loss), so that they do not count against <c>Limits:MaxRoomsPerConnection</c>.
    /// </summary>
    private static void ForgetEndedMemberships(Connection connection)
    {
        foreach (var (room, subscription) in connection.Rooms)
        {
            if (!subscription.IsCurrent)
            {
                connection.Rooms.Remove(room);
            }
        }
    }

    /// <summary>
    /// Takes the membership out of its room's coordinator (idempotent): the user's presence there, and the
    /// node's subscription when it was the last member. Its deliveries were stopped before.
    /// </summary>
    private ValueTask DepartAsync(RoomSubscription subscription) => DepartAsync(subscription, CancellationToken.None);

    private async ValueTask DepartAsync(RoomSubscription subscription, CancellationToken cancellationToken)
    {
        if (!_rooms.TryGetValue(subscription.Room, out var room))
        {
            return;
        }

        var lastOfUser = await room.RemoveAsync(subscription).ConfigureAwait(false);
        // Sent even when this node has no members left: members on other nodes must see the user leave.
        if (lastOfUser && AnnouncesPresence(room) && room.PresenceEvents.Announce(subscription.Connection.User, joined: false) is { } leftEvent)
        {
            await _broker.AnnouncePresenceAsync(room.Name, subscription.Connection.User, joined: false, leftEvent, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The presence-event rate of <paramref name="room"/>. It outlives the room's coordinator: a member
    /// alone on this node (the others on other nodes) retires the room with every leave, and a fresh
    /// bucket per join would let its toggling through uncoalesced. Forgotten once it could hold nothing.
    /// </summary>
    private PresenceCoalescer PresenceEventsOf(string room) =>
        _presenceEvents.GetOrAdd(room, static (name, hub) => new PresenceCoalescer(name, hub._broker, hub._options.Limits.PresenceEventsPerSecond, hub._options.Limits.PresenceEventBurst, hub._time), this);

    private void ForgetPresenceEvents(PresenceCoalescer events)
    {
        // A room that came back meanwhile uses this instance again: keep it.
        if (!_rooms.ContainsKey(events.Room))
        {
            _presenceEvents.TryRemove(new KeyValuePair<string, PresenceCoalescer>(events.Room, events));
        }
    }

    /// <summary>
    /// Keeps the newest publications of <paramref name="read"/> whose JSON fits in
    /// <c>Limits:MaxReplyBytes</c> (at most half the outbound queue). A reply larger than the queue
    /// would close its reader as a slow consumer, and the client's retry would meet the same fate; cut,
    /// a read that was asked to recover says <c>recovered:false</c> and the client reloads instead.
    /// </summary>
    private StreamRead FitReply(StreamRead read)
    {
        var cap = _options.Limits.ReplyBytesCap;
        var publications = read.Publications;
        long total = 0;
        var first = publications.Count;
        while (first > 0 && total + publications[first - 1].Json.Length + 1 <= cap)
        {
            first--;
            total += publications[first].Json.Length + 1;
        }

        if (first == 0)
        {
            return read;
        }

        return read with
        {
            Publications = publications.Skip(first).ToArray(),
            Recovered = read.Recovered is null ? null : false,
        };
    }

    /// <summary>Called by a room under its lock once its last member left and the broker was told.</summary>
    private void Retire(LocalRoom room)
    {
        if (_rooms.TryRemove(new KeyValuePair<string, LocalRoom>(room.Name, room)))
        {
            room.PresenceEvents.WhenIdle(ForgetPresenceEvents);
        }
    }
}
