using System.Net.WebSockets;
using Switchboard.Connections;
using Switchboard.Metrics;

namespace Switchboard.Endpoints;

/// <summary><c>/echo</c>: every frame comes straight back, text as text, binary as binary.</summary>
internal sealed class EchoBehavior(SwitchboardMetrics metrics) : IConnectionBehavior
{
    public bool BatchText => false;

    public ValueTask OnOpenAsync(Connection connection) => ValueTask.CompletedTask;

    public ValueTask OnMessageAsync(Connection connection, ReadOnlyMemory<byte> message, WebSocketMessageType type)
    {
        metrics.MessagesIn.Add(1);
        connection.TryEnqueue(new OutboundFrame(message.ToArray(), type == WebSocketMessageType.Binary));
        return ValueTask.CompletedTask;
    }

    public ValueTask OnClosedAsync(Connection connection) => ValueTask.CompletedTask;
}
