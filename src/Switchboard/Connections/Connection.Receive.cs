using System.Buffers;
using System.Net.WebSockets;
using Switchboard.Protocol;

namespace Switchboard.Connections;

/// <summary>Handles one complete message received on a connection.</summary>
/// <param name="connection">The connection it arrived on.</param>
/// <param name="message">The message; valid only until the returned task completes.</param>
/// <param name="type">Text or binary.</param>
internal delegate ValueTask MessageHandler(Connection connection, ReadOnlyMemory<byte> message, WebSocketMessageType type);

public sealed partial class Connection
{
    // Most commands are small; start there and grow towards Limits:MaxMessageBytes only when needed.
    private const int InitialReceiveBufferBytes = 4096;

    /// <summary>How the receive loop ended.</summary>
    internal enum ReceiveEnd
    {
        /// <summary>The peer sent a close frame.</summary>
        PeerClosed,

        /// <summary>The server asked to close (too big a message, shutdown, slow consumer) and the handshake finished.</summary>
        ServerClosed,
    }

    /// <summary>
    /// Reads whole messages and hands each to <paramref name="handler"/>, one at a time. Waits for data
    /// with a zero-byte read so that an idle connection holds no receive buffer.
    /// </summary>
    internal async Task<ReceiveEnd> RunReceiveLoopAsync(MessageHandler handler)
    {
        var token = _lifetime.Token;
        while (true)
        {
            var peek = await _socket.ReceiveAsync(Memory<byte>.Empty, token).ConfigureAwait(false);
            if (peek.MessageType == WebSocketMessageType.Close)
            {
                return Ended();
            }

            if (peek.EndOfMessage)
            {
                // The zero-byte read consumed a whole empty message; it still deserves an answer.
                await handler(this, ReadOnlyMemory<byte>.Empty, peek.MessageType).ConfigureAwait(false);
                continue;
            }

            var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(InitialReceiveBufferBytes, _limits.MaxMessageBytes));
            try
            {
                var length = 0;
                ValueWebSocketReceiveResult result;
                // Reading up to one byte past the limit is how an oversize message is told apart from
                // one exactly at the limit; pooled buffers may be larger than asked for, so cap the window.
                var window = _limits.MaxMessageBytes + 1;
                do
                {
                    if (length == Math.Min(buffer.Length, window))
                    {
                        buffer = Grow(buffer, length);
                    }

                    result = await _socket.ReceiveAsync(buffer.AsMemory(length, Math.Min(buffer.Length, window) - length), token).ConfigureAwait(false);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        return Ended();
                    }

                    length += result.Count;
                    if (length > _limits.MaxMessageBytes)
                    {
                        RequestClose(CloseCodes.MessageTooBig, $"message exceeds {_limits.MaxMessageBytes} bytes");
                        return await DrainUntilClosedAsync(token).ConfigureAwait(false);
                    }
                }
                while (!result.EndOfMessage);

                _metrics.BytesIn.Add(length);
                await handler(this, buffer.AsMemory(0, length), result.MessageType).ConfigureAwait(false);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private byte[] Grow(byte[] buffer, int length)
    {
        var larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, _limits.MaxMessageBytes + 1));
        buffer.AsSpan(0, length).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(buffer);
        return larger;
    }

    private ReceiveEnd Ended() => Volatile.Read(ref _closing) != 0 ? ReceiveEnd.ServerClosed : ReceiveEnd.PeerClosed;

    /// <summary>
    /// After the server has asked to close, discards whatever the peer still sends until its close
    /// frame arrives (or the close timeout aborts the socket), without buffering any of it.
    /// </summary>
    private async Task<ReceiveEnd> DrainUntilClosedAsync(CancellationToken token)
    {
        var scratch = ArrayPool<byte>.Shared.Rent(InitialReceiveBufferBytes);
        try
        {
            while (true)
            {
                var result = await _socket.ReceiveAsync(scratch.AsMemory(), token).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return ReceiveEnd.ServerClosed;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }
}
