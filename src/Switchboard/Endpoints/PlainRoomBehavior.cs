using System.Net.WebSockets;
using Switchboard.Connections;
using Switchboard.Metrics;

namespace Switchboard.Endpoints;

/// <summary>One connection's life in a plain room: join on open, relay every frame, leave on close.</summary>
internal sealed class PlainRoomBehavior(PlainRooms rooms, string room, SwitchboardMetrics metrics) : IConnectionBehavior
{
    private PlainRooms.PlainRoom? _joined;

    // Plain clients expect each frame exactly as sent, so frames are never joined together.
    public bool BatchText => false;

    public ValueTask OnOpenAsync(Connection connection)
    {
        _joined = rooms.Join(room, connection);
        return ValueTask.CompletedTask;
    }

    public ValueTask OnMessageAsync(Connection connection, ReadOnlyMemory<byte> message, WebSocketMessageType type)
    {
        metrics.MessagesIn.Add(1);
        _joined!.Broadcast(new OutboundFrame(message.ToArray(), type == WebSocketMessageType.Binary));
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
