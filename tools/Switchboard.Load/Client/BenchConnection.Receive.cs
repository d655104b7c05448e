using System.Diagnostics;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;

namespace Switchboard.Load.Client;

/// <summary>The receive side: frames into lines, lines into counts, offsets into loss and order checks.</summary>
internal sealed partial class BenchConnection
{
    /// <summary>A frame larger than this is a server bug or an attack, not a batch.</summary>
    private const int MaxFrameBytes = 16 * 1024 * 1024;

    // Written only by the receive path (setup, then the loop); read by the run once the loop settles
    // or, for progress and drain checks, as a racy but monotonic view.
    private bool _welcomed;
    private bool _joinAnswered;
    private string? _joinError;
    private ulong _expected;
    private ulong _highest;
    private long _received;
    private long _gaps;
    private long _outOfOrder;
    private long _lastDeliveryTimestamp;
    private long _publishAcks;
    private long _publishErrors;
    private ulong _highestAckedOffset;

    /// <summary>Room messages this connection received.</summary>
    public long Received => Volatile.Read(ref _received);

    /// <summary>Messages missing between ones received: offsets skipped over.</summary>
    public long Gaps => Volatile.Read(ref _gaps);

    /// <summary>Messages whose offset was not above the last one seen (reordered or duplicated).</summary>
    public long OutOfOrder => Volatile.Read(ref _outOfOrder);

    /// <summary>The highest room offset received, or <see cref="JoinOffset"/> before any.</summary>
    public ulong HighestOffset => Math.Max(Volatile.Read(ref _highest), JoinOffset);

    /// <summary><see cref="Stopwatch"/> timestamp of the last frame that carried a room message.</summary>
    public long LastDeliveryTimestamp => Volatile.Read(ref _lastDeliveryTimestamp);

    public long PublishAcks => Volatile.Read(ref _publishAcks);

    public long PublishErrors => Volatile.Read(ref _publishErrors);

    public ulong HighestAckedOffset => Volatile.Read(ref _highestAckedOffset);

    private async Task ReceiveUntilAsync(Func<BenchConnection, bool> done, CancellationToken cancellationToken)
    {
        while (!done(this))
        {
            var length = await ReceiveFrameAsync(cancellationToken);
            if (length < 0)
            {
                throw new SetupException($"closed by the server during setup ({ServerCloseCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "no code"})");
            }

            HandleFrame(_buffer.AsSpan(0, length));
        }
    }

    private async Task ReceiveLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                var length = await ReceiveFrameAsync(cancellationToken);
                if (length < 0)
                {
                    return;
                }

                HandleFrame(_buffer.AsSpan(0, length));
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The run's deadline passed; the run reports what was received so far.
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException)
        {
            if (!_closingByUs)
            {
                _counters.AddAborted();
            }
        }
    }

    /// <summary>
    /// Receive buffers live on the pinned object heap: ten thousand of them never move, so a full
    /// collection in the tool does not spend its pause copying them around.
    /// </summary>
    private static byte[] AllocateBuffer(int length) => GC.AllocateUninitializedArray<byte>(length, pinned: true);

    /// <summary>Reads one whole message into <see cref="_buffer"/>; -1 when a close frame arrived.</summary>
    /// <remarks>Pooled builder: one call per frame must not allocate a state machine per frame.</remarks>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReceiveFrameAsync(CancellationToken cancellationToken)
    {
        var filled = 0;
        while (true)
        {
            if (filled == _buffer.Length)
            {
                if (_buffer.Length >= MaxFrameBytes)
                {
                    throw new WebSocketException($"a server message exceeded {MaxFrameBytes} bytes");
                }

                var larger = AllocateBuffer(Math.Min(_buffer.Length * 2, MaxFrameBytes));
                _buffer.CopyTo(larger, 0);
                _buffer = larger;
            }

            var result = await _socket.ReceiveAsync(_buffer.AsMemory(filled), cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                await OnServerCloseAsync();
                return -1;
            }

            filled += result.Count;
            if (result.EndOfMessage)
            {
                return filled;
            }
        }
    }

    private async Task OnServerCloseAsync()
    {
        if (_closingByUs)
        {
            return;
        }

        ServerCloseCode = (int?)_socket.CloseStatus ?? 1005;
        _counters.AddClose(ServerCloseCode.Value);
        using var timeout = new CancellationTokenSource(CloseTimeout);
        try
        {
            await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The server is gone already; nothing to acknowledge.
        }
    }

    /// <summary>The server may join several messages in one text frame with '\n'.</summary>
    private void HandleFrame(ReadOnlySpan<byte> frame)
    {
        var now = _recordLatency ? Stopwatch.GetTimestamp() : 0;
        var bytes = frame.Length;
        long messages = 0;
        while (!frame.IsEmpty)
        {
            var end = frame.IndexOf((byte)'\n');
            var line = end < 0 ? frame : frame[..end];
            frame = end < 0 ? default : frame[(end + 1)..];
            if (!line.IsEmpty && HandleLine(line, now))
            {
                messages++;
            }
        }

        if (messages != 0)
        {
            Volatile.Write(ref _lastDeliveryTimestamp, now != 0 ? now : Stopwatch.GetTimestamp());
        }

        _counters.AddFrame(messages, bytes);
    }

    /// <summary>Handles one server message; true when it was a delivery of this connection's room.</summary>
    private bool HandleLine(ReadOnlySpan<byte> json, long now)
    {
        var line = ServerLine.Parse(json, _room, _recordLatency);
        switch (line.Kind)
        {
            case ServerLineKind.Message when line.InRoom && line.HasOffset:
                CheckOffset(line.Offset);
                if (line.HasTimestamp && _counters.Latency is { } histogram && line.Timestamp >= _counters.LatencyFrom)
                {
                    histogram.RecordTicks(now - line.Timestamp);
                }

                return true;
            case ServerLineKind.Welcome:
                _welcomed = true;
                break;
            case ServerLineKind.Reply when line.Id == JoinId:
                JoinOffset = line.Offset;
                _expected = Math.Max(_expected, line.Offset + 1);
                _joinAnswered = true;
                break;
            case ServerLineKind.Reply when line.Id > JoinId:
                Volatile.Write(ref _publishAcks, _publishAcks + 1);
                if (line.Offset > _highestAckedOffset)
                {
                    Volatile.Write(ref _highestAckedOffset, line.Offset);
                }

                break;
            case ServerLineKind.Error:
                _counters.AddError(line.ErrorCode ?? "unknown");
                if (line.Id == JoinId)
                {
                    _joinError = line.ErrorCode ?? "unknown";
                    _joinAnswered = true;
                }
                else if (line.Id > JoinId)
                {
                    Volatile.Write(ref _publishErrors, _publishErrors + 1);
                }

                break;
            case ServerLineKind.Malformed:
                _counters.AddMalformed();
                break;
            default:
                _counters.AddOtherLine(line.OtherOp);
                break;
        }

        return false;
    }

    private void CheckOffset(ulong offset)
    {
        Volatile.Write(ref _received, _received + 1);
        if (_expected != 0 && offset != _expected)
        {
            if (offset > _expected)
            {
                Volatile.Write(ref _gaps, _gaps + (long)(offset - _expected));
            }
            else
            {
                Volatile.Write(ref _outOfOrder, _outOfOrder + 1);
            }
        }

        if (offset + 1 > _expected)
        {
            _expected = offset + 1;
        }

        if (offset > _highest)
        {
            Volatile.Write(ref _highest, offset);
        }
    }
}
