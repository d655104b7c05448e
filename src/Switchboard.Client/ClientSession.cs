using System.Threading.Channels;

namespace Switchboard.Client;

/// <summary>
/// One connection of the client: its transport (a WebSocket or an event stream), its bounded outbound queue drained by exactly
/// one writer loop, and the signals of its life. A reconnect makes a new session.
/// </summary>
internal sealed class ClientSession : IDisposable
{
    private readonly CancellationTokenSource _ended = new();
    private int _closeRequested;
    private int _stopSending;

    public ClientSession(IClientTransport transport, int sendQueue)
    {
        Transport = transport;
        Outbound = Channel.CreateBounded<PendingRequest>(new BoundedChannelOptions(sendQueue)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    public IClientTransport Transport { get; }

    public Channel<PendingRequest> Outbound { get; }

    /// <summary>Completed by the receive loop when the server's welcome arrives.</summary>
    public TaskCompletionSource<(string User, string Session)> Welcome { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Set, under the client's gate, once rooms are re-joined and the offline queue is written: new sends may go straight to <see cref="Outbound"/>.</summary>
    public bool Ready { get; set; }

    /// <summary>Cancelled when the session is over; for work bound to this connection (token refresh).</summary>
    public CancellationToken Ended => _ended.Token;

    /// <summary>The client is closing: the writer flushes what is queued, then sends the close frame.</summary>
    public bool CloseRequested => Volatile.Read(ref _closeRequested) != 0;

    /// <summary>The connection is gone: the writer stops at once and leaves the rest queued for the next connection.</summary>
    public bool StopSending => Volatile.Read(ref _stopSending) != 0;

    public void RequestClose()
    {
        Volatile.Write(ref _closeRequested, 1);
        Outbound.Writer.TryComplete();
    }

    public void Stop()
    {
        Volatile.Write(ref _stopSending, 1);
        Outbound.Writer.TryComplete();
    }

    /// <summary>Tears the connection down without a close handshake; the receive loop then ends with 1006.</summary>
    public void Abort() => Transport.Abort();

    public void End()
    {
        try
        {
            _ended.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already disposed by the owner: nothing is bound to it any more.
        }
    }

    public void Dispose()
    {
        _ended.Dispose();
        Transport.Dispose();
    }
}
