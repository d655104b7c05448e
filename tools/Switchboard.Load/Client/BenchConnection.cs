using System.Net.WebSockets;
using System.Text;

namespace Switchboard.Load.Client;

/// <summary>
/// One load-generating WebSocket connection. It owns its socket from the handshake to the close:
/// the setup steps (welcome, join) run in line, then one receive loop counts and checks every room
/// message until the server or <see cref="CloseAsync"/> ends it. Only the publisher path sends after
/// setup, one frame at a time, so the socket always has a single writer.
/// </summary>
internal sealed partial class BenchConnection
{
    /// <summary>The join request id; publish ids start above it.</summary>
    private const long JoinId = 1;

    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(5);

    private readonly ClientWebSocket _socket;
    private readonly LoadCounters _counters;
    private readonly byte[] _room;
    private readonly bool _recordLatency;
    private byte[] _buffer;
    private Task? _receiveLoop;
    private volatile bool _closingByUs;

    private BenchConnection(ClientWebSocket socket, LoadCounters counters, string room, int initialBufferBytes, bool recordLatency)
    {
        _socket = socket;
        _counters = counters;
        _room = Encoding.UTF8.GetBytes(room);
        _buffer = AllocateBuffer(initialBufferBytes);
        _recordLatency = recordLatency;
    }

    /// <summary>The room's offset when the join was answered; the first message expected is one past it.</summary>
    public ulong JoinOffset { get; private set; }

    /// <summary>Whether the receive loop has ended (closed by either side or aborted).</summary>
    public bool Ended => _receiveLoop is { IsCompleted: true };

    /// <summary>The close code the server sent, when it closed the connection itself.</summary>
    public int? ServerCloseCode { get; private set; }

    /// <summary>
    /// Connects, waits for the server's welcome and, when <paramref name="room"/> is set, joins it.
    /// Returns with the receive loop running.
    /// </summary>
    public static async Task<BenchConnection> OpenAsync(
        WebSocketConnector connector,
        Uri uri,
        LoadCounters counters,
        string? room,
        ConnectionSettings settings,
        CancellationToken cancellationToken)
    {
        var socket = await connector.ConnectAsync(uri, cancellationToken);
        var connection = new BenchConnection(socket, counters, room ?? string.Empty, settings.InitialBufferBytes, settings.RecordLatency);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(settings.SetupTimeout);
            await connection.ReceiveUntilAsync(static c => c._welcomed, timeout.Token);
            if (room is not null)
            {
                await connection.SendAsync(Encoding.UTF8.GetBytes($"{{\"op\":\"join\",\"room\":\"{room}\",\"id\":{JoinId}}}"), timeout.Token);
                await connection.ReceiveUntilAsync(static c => c._joinAnswered, timeout.Token);
                if (connection._joinError is { } code)
                {
                    throw new SetupException($"join refused: {code}");
                }
            }
        }
        catch
        {
            connection._socket.Abort();
            connection._socket.Dispose();
            throw;
        }

        connection._receiveLoop = connection.ReceiveLoopAsync(cancellationToken);
        return connection;
    }

    /// <summary>Sends one text frame. Callers never overlap sends on one connection.</summary>
    public ValueTask SendAsync(ReadOnlyMemory<byte> utf8Json, CancellationToken cancellationToken) =>
        _socket.SendAsync(utf8Json, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);

    /// <summary>
    /// Starts the close handshake and waits (bounded) for the server's answer, then releases the
    /// socket. Safe to call on a connection the server already closed.
    /// </summary>
    public async Task CloseAsync()
    {
        _closingByUs = true;
        if (_socket.State == WebSocketState.Open)
        {
            using var timeout = new CancellationTokenSource(CloseTimeout);
            try
            {
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
            {
                // The connection is going away either way; the abort below releases it.
            }
        }

        if (_receiveLoop is { } loop)
        {
            await loop.WaitAsync(CloseTimeout).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        _socket.Abort();
        _socket.Dispose();
    }
}
