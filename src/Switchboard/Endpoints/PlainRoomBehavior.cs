using System.Net.WebSockets;
using Switchboard.Connections;
using Switchboard.Identity;
using Switchboard.Metrics;
using Switchboard.Options;
using Switchboard.Protocol;

namespace Switchboard.Endpoints;

/// <summary>
/// One connection's life in a plain room: join on open (if its identity may both join and publish,
/// since every member of a plain room speaks), relay every frame within the publish rate, leave on close.
/// </summary>
internal sealed class PlainRoomBehavior(PlainRooms rooms, string room, RoomPolicy policy, SwitchboardMetrics metrics, LimitsOptions limits) : IConnectionBehavior
{
    private PlainRooms.PlainRoom? _joined;

    // Plain clients expect each frame exactly as sent, so frames are never joined together.
    public bool BatchText => false;

    // Plain clients speak no protocol, so they cannot send an auth command.
    public bool AcceptsDeferredAuth => false;

    public ValueTask OnOpenAsync(Connection connection)
    {
        var identity = connection.Identity!;
        if (!policy.CanJoin(identity, room) || !policy.CanPublish(identity, room))
        {
            connection.RequestClose(CloseCodes.Forbidden, $"not allowed to use {room}");
            return ValueTask.CompletedTask;
        }

        _joined = rooms.Join(room, connection, limits.MaxPlainRoomMembers);
        if (_joined is null)
        {
            connection.RequestClose(CloseCodes.TooManyConnections, $"{room} is full ({limits.MaxPlainRoomMembers} members)");
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask OnMessageAsync(Connection connection, ReadOnlyMemory<byte> message, bool isBinary)
    {
        metrics.MessagesIn.Add(1);
        if (_joined is null)
        {
            return ValueTask.CompletedTask;
        }

        if (!connection.PublishBucket.TryTake())
        {
            // No error channel exists in plain mode: excess frames are dropped, persistent excess closes.
            if (++connection.RateLimitStrikes >= limits.RateLimitStrikes)
            {
                connection.RequestClose(CloseCodes.RateLimited, "rate limit exceeded repeatedly");
            }

            return ValueTask.CompletedTask;
        }

        connection.RateLimitStrikes = 0;
        _joined.Broadcast(new OutboundFrame(message.ToArray(), isBinary));
        return ValueTask.CompletedTask;
    }

    public ValueTask OnClosedAsync(Connection connection)
    {
        if (_joined is not null)
        {
            rooms.Leave(_joined, connection);
        }

        return ValueTask.CompletedTask;
    }
}
