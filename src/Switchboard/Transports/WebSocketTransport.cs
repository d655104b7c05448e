using System.Buffers;
using System.Net.WebSockets;
using Switchboard.Connections;
using Switchboard.Metrics;
using Switchboard.Options;
using Switchboard.Protocol;

namespace Switchboard.Transports;

/// <summary>
/// A session's transport over an accepted WebSocket: one frame per message out, whole messages in,
/// close frames both ways, and a lingering close so that the peer reads the close frame.
/// </summary>
/// <param name="socket">The accepted socket.</param>
/// <param name="stream">The stream below it when this node completed the upgrade itself; null when the framework did (the linger is then only a short wait).</param>
/// <param name="limits">Message size and close timing.</param>
/// <param name="compression">Which messages are worth compressing, when the peer negotiated permessage-deflate.</param>
/// <param name="metrics">Bytes in.</param>
internal sealed class WebSocketTransport(WebSocket socket, LingeringStream? stream, LimitsOptions limits, CompressionOptions compression, SwitchboardMetrics metrics) : ITransport
{
    // Most commands are small; start there and grow towards Limits:MaxMessageBytes only when needed.
    private const int InitialReceiveBufferBytes = 4096;

    // Bytes still in flight from the peer arrive well within this on loopback and ordinary networks;
    // silence for this long means nothing unread is left to turn the close into a reset.
    private static readonly TimeSpan LingerQuietPeriod = TimeSpan.FromMilliseconds(250);

    private int _disposed;

    /// <summary>
    /// Writes one message as one frame. A message under <see cref="CompressionOptions.MinMessageBytes"/>
    /// goes uncompressed even on a deflate connection (the flag means nothing on any other): deflating
    /// it would cost a compressor's set-up for a few bytes saved, or none.
    /// </summary>
    public ValueTask SendAsync(ReadOnlyMemory<byte> data, bool isBinary, CancellationToken cancellationToken) =>
        socket.SendAsync(
            data,
            isBinary ? WebSocketMessageType.Binary : WebSocketMessageType.Text,
            data.Length < compression.MinMessageBytes ? WebSocketMessageFlags.EndOfMessage | WebSocketMessageFlags.DisableCompression : WebSocketMessageFlags.EndOfMessage,
            cancellationToken);

    public async ValueTask CloseAsync(int code, string reason, CancellationToken cancellationToken)
    {
        if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            await socket.CloseOutputAsync((WebSocketCloseStatus)code, reason, cancellationToken).ConfigureAwait(false);
        }
    }

    public void Abort() => socket.Abort();

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        socket.Dispose();
        stream?.Inner.Dispose();
    }

    /// <summary>
    /// Waits for data with a zero-byte read so that an idle connection holds no receive buffer, then
    /// reads whole messages. Once the session is closing, input is discarded until the peer's close.
    /// </summary>
    public async Task<ReceiveEnd> ReceiveAsync(Connection session, MessageHandler handler)
    {
        var token = session.Aborted;
        try
        {
            while (true)
            {
                if (session.IsClosing)
                {
                    return await DiscardUntilClosedAsync(token).ConfigureAwait(false);
                }

                // Without the session's token: a token passed down is registered by the socket and by
                // Kestrel's pipe for as long as the read waits, three registrations kept by every idle
                // connection. Whatever must end this wait (an abort, the close timeout) aborts the socket.
                var peek = await socket.ReceiveAsync(Memory<byte>.Empty, CancellationToken.None).ConfigureAwait(false);
                if (peek.MessageType == WebSocketMessageType.Close)
                {
                    return Ended(session);
                }

                if (session.IsClosing)
                {
                    continue;
                }

                if (peek.EndOfMessage)
                {
                    // The zero-byte read consumed a whole empty message; it still deserves an answer.
                    await handler(session, ReadOnlyMemory<byte>.Empty, peek.MessageType == WebSocketMessageType.Binary).ConfigureAwait(false);
                    continue;
                }

                if (await ReceiveMessageAsync(session, handler, token).ConfigureAwait(false) is { } end)
                {
                    return end;
                }
            }
        }
        catch (WebSocketException ex) when (ex.WebSocketErrorCode != WebSocketError.ConnectionClosedPrematurely)
        {
            // The framework closed the socket itself (1007 for invalid UTF-8, 1002 for broken framing).
            await LingerAsync(token).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Reads one message into a pooled buffer and hands it over; a result only when the loop must end.</summary>
    private async Task<ReceiveEnd?> ReceiveMessageAsync(Connection session, MessageHandler handler, CancellationToken token)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(InitialReceiveBufferBytes, limits.MaxMessageBytes));
        try
        {
            var length = 0;
            ValueWebSocketReceiveResult result;
            // Reading up to one byte past the limit is how an oversize message is told apart from
            // one exactly at the limit; pooled buffers may be larger than asked for, so cap the window.
            var window = limits.MaxMessageBytes + 1;
            do
            {
                if (length == Math.Min(buffer.Length, window))
                {
                    buffer = Grow(buffer, length);
                }

                result = await socket.ReceiveAsync(buffer.AsMemory(length, Math.Min(buffer.Length, window) - length), token).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return Ended(session);
                }

                length += result.Count;
                if (length > limits.MaxMessageBytes)
                {
                    session.RequestClose(CloseCodes.MessageTooBig, $"message exceeds {limits.MaxMessageBytes} bytes");
                    return await DiscardUntilClosedAsync(token).ConfigureAwait(false);
                }
            }
            while (!result.EndOfMessage);

            metrics.BytesIn.Add(length);
            await handler(session, buffer.AsMemory(0, length), result.MessageType == WebSocketMessageType.Binary).ConfigureAwait(false);
            return null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private byte[] Grow(byte[] buffer, int length)
    {
        var larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, limits.MaxMessageBytes + 1));
        buffer.AsSpan(0, length).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(buffer);
        return larger;
    }

    private static ReceiveEnd Ended(Connection session) => session.IsClosing ? ReceiveEnd.ServerClosed : ReceiveEnd.PeerClosed;

    /// <summary>
    /// After the server has asked to close, discards whatever the peer still sends until its close
    /// frame arrives (or the close timeout aborts the session), without buffering any of it and
    /// without acting on any of it: a closing session runs no more commands.
    /// </summary>
    private async Task<ReceiveEnd> DiscardUntilClosedAsync(CancellationToken token)
    {
        var scratch = ArrayPool<byte>.Shared.Rent(InitialReceiveBufferBytes);
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(scratch.AsMemory(), token).ConfigureAwait(false);
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

    /// <summary>
    /// A lingering close after the framework closed the socket on bad input (1007, 1002) and aborted
    /// it. Ending the request now would close the TCP connection with the peer's unread bytes still
    /// buffered, and the kernel's reset could destroy the close frame before the peer read it (the
    /// peer would see 1006 and send the same bad frame again). So the input is read off below the
    /// aborted socket and discarded until the peer hangs up or falls quiet, within a deadline and a
    /// byte budget: a peer that read the close frame answers with its own and waits for the hang-up.
    /// </summary>
    private async Task LingerAsync(CancellationToken token)
    {
        // Long enough for a peer to read a close frame already on its way; short enough, with the byte
        // budget, that a client sending garbage on purpose holds little.
        var deadline = TimeSpan.FromSeconds(Math.Min(2, limits.CloseTimeoutSeconds));
        if (stream is null)
        {
            // The framework completed the upgrade (HTTP/2): nothing to read below the socket; wait instead.
            await Task.Delay(LingerQuietPeriod, token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            return;
        }

        long budget = 4L * limits.MaxMessageBytes;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token);
        timeout.CancelAfter(deadline);
        var scratch = ArrayPool<byte>.Shared.Rent(InitialReceiveBufferBytes);
        try
        {
            while (budget > 0)
            {
                using var quiet = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
                quiet.CancelAfter(LingerQuietPeriod);
                var read = await stream.Inner.ReadAsync(scratch.AsMemory(), quiet.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    return;
                }

                budget -= read;
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            // Quiet, deadline, reset or hang-up: the linger is over either way.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }
}
