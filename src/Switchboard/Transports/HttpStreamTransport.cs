using System.Diagnostics;
using System.IO.Pipelines;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http;
using Switchboard.Connections;
using Switchboard.Metrics;
using Switchboard.Protocol;

namespace Switchboard.Transports;

/// <summary>
/// A session's transport over one long HTTP response (server-sent events or newline-delimited JSON)
/// for what the server sends, and separate POSTs for what the client sends. Posted bodies wait in a
/// small bounded inbox and run one at a time on the session's receive loop, exactly like WebSocket
/// frames. The response has no close frame: the session's close is a last <c>close</c> message, then
/// the end of the response.
/// </summary>
/// <remarks>
/// The session's send loop is the only caller of <see cref="SendAsync"/> and <see cref="CloseAsync"/>.
/// The heartbeat (see <see cref="RunHeartbeatAsync"/>) writes only when no write is under way, under
/// the same write lock, as a WebSocket's own pings do beside its sender.
/// </remarks>
internal sealed partial class HttpStreamTransport : ITransport
{
    /// <summary>
    /// Posted bodies that may wait for the receive loop. A client that posts faster than its commands
    /// run gets 429 rather than growing the inbox: each body may be up to <c>Limits:MaxMessageBytes</c>.
    /// </summary>
    internal const int InboxCapacity = 16;

    private readonly HttpContext _context;
    private readonly PipeWriter _body;
    private readonly IStreamFraming _framing;
    private readonly StreamCursor? _cursor;
    private readonly KeyValuePair<string, (string Epoch, ulong Offset)>[] _resume;
    private readonly SwitchboardMetrics _metrics;
    private readonly Channel<byte[]> _inbox = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(InboxCapacity)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });

    private readonly SemaphoreSlim _writeLock = new(1, 1);

    // The Stopwatch timestamp of the write under way, or 0: how the heartbeat tells a reader that
    // stopped reading (a write stuck for long) from an idle stream.
    private long _writeStartedAt;

    // The session the receive loop runs, once it runs: a post to a closing session is refused.
    private Connection? _session;

    // Set once the inbox takes no more posts: the session is over or ending.
    private bool _inboxEnded;

    // Set under the write lock once the close message ended the response: nothing may be written after it.
    private bool _ended;

    /// <summary>Creates the transport of <paramref name="context"/>'s response.</summary>
    /// <param name="context">The stream's request; its response is the stream.</param>
    /// <param name="framing">Server-sent events or newline-delimited JSON.</param>
    /// <param name="cursor">The stream's position for event ids (server-sent events only), possibly resumed from <c>Last-Event-ID</c>.</param>
    /// <param name="heartbeat">The heartbeat interval and how long a write may stall.</param>
    /// <param name="metrics">Bytes in.</param>
    public HttpStreamTransport(HttpContext context, IStreamFraming framing, StreamCursor? cursor, Options.HeartbeatOptions heartbeat, SwitchboardMetrics metrics)
    {
        _context = context;
        _body = context.Response.BodyWriter;
        _framing = framing;
        _cursor = cursor;
        // Taken now: once the session runs, the cursor belongs to the send loop.
        _resume = cursor?.Rooms.ToArray() ?? [];
        _metrics = metrics;
        HeartbeatInterval = TimeSpan.FromSeconds(heartbeat.IntervalSeconds);
        StallTimeout = TimeSpan.FromSeconds(heartbeat.TimeoutSeconds);
    }

    private TimeSpan HeartbeatInterval { get; }

    private TimeSpan StallTimeout { get; }

    /// <summary>Hands a posted body (one or more commands) to the receive loop without waiting.</summary>
    public PostOutcome TryPost(byte[] commands)
    {
        if (Volatile.Read(ref _session) is { IsClosing: true })
        {
            // A closing session runs no more commands: say so rather than accept them.
            return PostOutcome.Closed;
        }

        if (_inbox.Writer.TryWrite(commands))
        {
            _metrics.BytesIn.Add(commands.Length);
            return PostOutcome.Accepted;
        }

        // A completed inbox refuses writes even while bodies posted earlier still wait in it.
        return Volatile.Read(ref _inboxEnded) ? PostOutcome.Closed : PostOutcome.Full;
    }

    public async ValueTask SendAsync(ReadOnlyMemory<byte> data, bool isBinary, CancellationToken cancellationToken)
    {
        await BeginWriteAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (isBinary)
            {
                WriteMessage(AsJson(data));
            }
            else
            {
                // The session batches text messages with newlines; each becomes its own event.
                var rest = data.Span;
                while (!rest.IsEmpty)
                {
                    var end = rest.IndexOf((byte)'\n');
                    var line = end < 0 ? rest : rest[..end];
                    rest = end < 0 ? default : rest[(end + 1)..];
                    if (!line.IsEmpty)
                    {
                        WriteMessage(line);
                    }
                }
            }

            await FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            EndWrite();
        }
    }

    public async ValueTask CloseAsync(int code, string reason, CancellationToken cancellationToken)
    {
        try
        {
            await BeginWriteAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                WriteMessage(ServerMessages.Close(code, reason));
                await FlushAsync(cancellationToken).ConfigureAwait(false);
                _ended = true;
                await _body.CompleteAsync().ConfigureAwait(false);
            }
            finally
            {
                EndWrite();
            }
        }
        finally
        {
            // The close is written (or failed): the receive loop ends, and with it the session.
            EndInbox();
        }
    }

    public void Abort()
    {
        EndInbox();
        _context.Abort();
    }

    public void Dispose() => EndInbox();

    /// <summary>
    /// Runs posted bodies one at a time (after the joins of a resumed stream) until the session's close
    /// is written or the client goes away. Once the session is closing, posted bodies are dropped.
    /// </summary>
    public async Task<ReceiveEnd> ReceiveAsync(Connection session, MessageHandler handler)
    {
        Volatile.Write(ref _session, session);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(session.Aborted, _context.RequestAborted);
        var heartbeat = RunHeartbeatAsync(session, stop.Token);
        try
        {
            foreach (var (room, (epoch, offset)) in _resume)
            {
                if (session.IsClosing)
                {
                    break;
                }

                await handler(session, StreamCursor.ResumeJoin(room, epoch, offset), isBinary: false).ConfigureAwait(false);
            }

            while (await _inbox.Reader.WaitToReadAsync(stop.Token).ConfigureAwait(false))
            {
                while (_inbox.Reader.TryRead(out var commands))
                {
                    if (!session.IsClosing)
                    {
                        await handler(session, commands, isBinary: false).ConfigureAwait(false);
                    }
                }
            }

            return session.IsClosing ? ReceiveEnd.ServerClosed : ReceiveEnd.PeerClosed;
        }
        catch (OperationCanceledException) when (_context.RequestAborted.IsCancellationRequested && !session.Aborted.IsCancellationRequested)
        {
            // The client closed the stream: the ordinary end of a server-sent-events session.
            return ReceiveEnd.PeerClosed;
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await heartbeat.ConfigureAwait(false);
        }
    }

    private void EndInbox()
    {
        Volatile.Write(ref _inboxEnded, true);
        _inbox.Writer.TryComplete();
    }

    private void WriteMessage(ReadOnlySpan<byte> json)
    {
        ReadOnlySpan<byte> id = default;
        if (_cursor is not null)
        {
            _cursor.Observe(json);
            id = _cursor.Id;
        }

        _framing.WriteMessage(_body, json, id);
    }

    /// <summary>
    /// A binary publication has no frame of its own on a text stream: it is written as the JSON message
    /// a history reply would carry, with the payload in base64 under <c>binary</c>.
    /// </summary>
    private static byte[] AsJson(ReadOnlyMemory<byte> frame) =>
        BinaryFrames.TryDecodeMessage(frame, out var room, out var from, out var offset, out var payload)
            ? ServerMessages.Message(room, from, offset, payload.Span, binary: true)
            : ServerMessages.Error(default, ErrorCodes.Internal, "a binary frame could not be carried on this stream");

    private async ValueTask BeginWriteAsync(CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _writeStartedAt, Stopwatch.GetTimestamp());
    }

    private void EndWrite()
    {
        Volatile.Write(ref _writeStartedAt, 0);
        _writeLock.Release();
    }

    /// <summary>
    /// Flushes what was written. The flush waits while the client is not reading (Kestrel's response
    /// buffer is full), which is what lets the session's bounded queue cut off a slow reader with 4000.
    /// </summary>
    private async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        var result = await _body.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (result.IsCanceled || result.IsCompleted)
        {
            throw new IOException("the client closed the stream");
        }
    }
}
