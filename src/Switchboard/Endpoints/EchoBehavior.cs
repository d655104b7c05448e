using System.Net.WebSockets;
using Switchboard.Connections;
using Switchboard.Metrics;
using Switchboard.Options;
using Switchboard.Protocol;

namespace Switchboard.Endpoints;

/// <summary><c>/echo</c>: every frame comes straight back, text as text, binary as binary, within the command rate.</summary>
internal sealed class EchoBehavior(SwitchboardMetrics metrics, LimitsOptions limits) : IConnectionBehavior
{
    public bool BatchText => false;

    // Echo clients speak no protocol, so they cannot send an auth command.
    public bool AcceptsDeferredAuth => false;

    public ValueTask OnOpenAsync(Connection connection) => ValueTask.CompletedTask;

    public ValueTask OnMessageAsync(Connection connection, ReadOnlyMemory<byte> message, bool isBinary)
    {
        metrics.MessagesIn.Add(1);
        if (!connection.CommandBucket.TryTake())
        {
            if (++connection.RateLimitStrikes >= limits.RateLimitStrikes)
            {
                connection.RequestClose(CloseCodes.RateLimited, "rate limit exceeded repeatedly");
            }

            return ValueTask.CompletedTask;
        }

        connection.RateLimitStrikes = 0;
        connection.TryEnqueue(new OutboundFrame(message.ToArray(), isBinary));
        return ValueTask.CompletedTask;
    }

    public ValueTask OnClosedAsync(Connection connection) => ValueTask.CompletedTask;
}
