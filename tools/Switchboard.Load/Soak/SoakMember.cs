using System.Buffers;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Switchboard.Load.Soak;

/// <summary>
/// A well-behaved member: joins its room, reads everything, and checks that it gets every offset once
/// and in order. When it is churned (or the server closes it) it reconnects and rejoins with the last
/// offset and epoch it saw, so recovery is checked too. One receive loop owns the socket's reads; the
/// join, sent before the loop starts, is the only write.
/// </summary>
internal sealed class SoakMember(Uri url, string room, SoakTally tally)
{
    private const int JoinId = 1;

    private ClientWebSocket? _socket;
    private Task? _receiveLoop;
    private long _last = -1;
    private string? _epoch;
    private bool _sentSince;
    private volatile bool _leaving;
    private int _reconnecting;

    /// <summary>Whether the member is connected and reading.</summary>
    public bool IsOpen => _receiveLoop is { IsCompleted: false };

    /// <summary>Connects and joins, recovering from the last offset seen when there is one.</summary>
    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        try
        {
            await socket.ConnectAsync(url, cancellationToken);
            _sentSince = _epoch is not null;
            var join = _sentSince
                ? string.Create(CultureInfo.InvariantCulture, $$$"""{"op":"join","room":"{{{room}}}","id":{{{JoinId}}},"since":{"offset":{{{_last}}},"epoch":"{{{_epoch}}}"}}""")
                : $$"""{"op":"join","room":"{{room}}","id":{{JoinId}}}""";
            await socket.SendAsync(Encoding.UTF8.GetBytes(join), WebSocketMessageType.Text, true, cancellationToken);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        _leaving = false;
        _socket = socket;
        _receiveLoop = ReceiveAsync(socket);
    }

    /// <summary>Drops the connection (abruptly or with a close frame) and comes back with <c>since</c>.</summary>
    public async Task ReconnectAsync(bool abrupt, CancellationToken cancellationToken)
    {
        // Churn and the return of closed members may pick the same member in one tick: one of them does it.
        if (Interlocked.Exchange(ref _reconnecting, 1) == 1)
        {
            return;
        }

        try
        {
            await DisconnectAsync(abrupt);
            tally.OnReconnect();
            await ConnectAsync(cancellationToken);
        }
        finally
        {
            Volatile.Write(ref _reconnecting, 0);
        }
    }

    /// <summary>Leaves for good.</summary>
    public Task CloseAsync() => DisconnectAsync(abrupt: false);

    private async Task DisconnectAsync(bool abrupt)
    {
        _leaving = true;
        if (_socket is not { } socket)
        {
            return;
        }

        if (abrupt)
        {
            socket.Abort();
        }
        else
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "soak", timeout.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
            {
                socket.Abort();
            }
        }

        if (_receiveLoop is { } loop)
        {
            await loop.WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);
        }

        socket.Dispose();
        _socket = null;
    }

    private async Task ReceiveAsync(ClientWebSocket socket)
    {
        var frame = new ArrayBufferWriter<byte>(4096);
        var ending = "dropped";
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(frame.GetMemory(4096), CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    ending = socket.CloseStatus is { } status ? ((int)status).ToString(CultureInfo.InvariantCulture) : "close without a code";
                    break;
                }

                frame.Advance(result.Count);
                if (!result.EndOfMessage)
                {
                    continue;
                }

                if (result.MessageType == WebSocketMessageType.Text)
                {
                    foreach (var line in Encoding.UTF8.GetString(frame.WrittenSpan).Split('\n', StringSplitOptions.RemoveEmptyEntries))
                    {
                        Handle(line);
                    }
                }

                frame.ResetWrittenCount();
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Dropped: by us when leaving, otherwise counted below.
            ending = ex is WebSocketException socketError ? "dropped: " + socketError.WebSocketErrorCode : "dropped";
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            // A line the member could not read: the server broke the protocol (or this tool has a bug).
            tally.OnUnreadable(ex.Message);
        }

        if (!_leaving)
        {
            tally.OnUnexpectedClose(ending);
        }
    }

    private void Handle(string line)
    {
        using var document = JsonDocument.Parse(line);
        var message = document.RootElement;
        switch (message.GetProperty("op").GetString())
        {
            case "message" when message.GetProperty("room").GetString() == room:
                Deliver(message.GetProperty("offset").GetInt64());
                break;
            case "reply" when message.TryGetProperty("id", out var id) && id.GetInt32() == JoinId:
                OnJoined(message);
                break;
        }
    }

    private void OnJoined(JsonElement reply)
    {
        var top = reply.GetProperty("offset").GetInt64();
        var epoch = reply.GetProperty("epoch").GetString();
        if (_sentSince && reply.TryGetProperty("recovered", out var recovered))
        {
            if (!recovered.GetBoolean())
            {
                // Told, not lost: the member would reload its state; the count starts again at the top.
                tally.OnUnrecoverable();
                (_last, _epoch) = (top, epoch);
                return;
            }

            var publications = reply.TryGetProperty("publications", out var list) ? list.EnumerateArray().ToList() : [];
            foreach (var publication in publications)
            {
                Deliver(publication.GetProperty("offset").GetInt64());
            }

            tally.OnRecovered(publications.Count);
            _epoch = epoch;
            return;
        }

        (_last, _epoch) = (top, epoch);
    }

    private void Deliver(long offset)
    {
        if (offset <= _last)
        {
            tally.OnDuplicate();
            return;
        }

        if (offset > _last + 1 && _last >= 0)
        {
            tally.OnGap(offset - _last - 1);
        }

        _last = offset;
        tally.OnDelivered();
    }
}
