using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;
using Switchboard.Tests.Infrastructure;

namespace Switchboard.Tests.Redis;

/// <summary>
/// A raw protocol client of the chaos test, behaving as a well-written application: one loop owns its
/// connection through nginx; when the connection drops it reconnects and rejoins every room with
/// <c>since</c>, and on <c>removed</c>/<c>stream_lost</c>/<c>rejoin:true</c> it rejoins that room with
/// <c>since</c>. Everything it holds and every time it was told is written to a per-room log.
/// </summary>
public sealed class ChaosMember : IAsyncDisposable
{
    private static readonly TimeSpan IdleWait = TimeSpan.FromSeconds(2);

    private readonly NginxServer _nginx;
    private readonly Dictionary<string, ChaosRoomLog> _rooms;
    private readonly Dictionary<int, string> _pendingJoins = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly List<string> _violations = [];
    private Task _loop = Task.CompletedTask;
    private volatile ProtocolClient? _client;
    private int _connections;
    private int _unavailableJoins;

    private ChaosMember(NginxServer nginx, string user, IEnumerable<string> rooms)
    {
        _nginx = nginx;
        User = user;
        _rooms = rooms.ToDictionary(r => r, r => new ChaosRoomLog(r));
    }

    public string User { get; }

    public IReadOnlyCollection<string> Rooms => _rooms.Keys;

    /// <summary>How many connections it opened (1 plus its reconnects).</summary>
    public int Connections => Volatile.Read(ref _connections);

    /// <summary>How many joins a node answered with <c>unavailable</c> (joined again after a back-off).</summary>
    public int UnavailableJoins => Volatile.Read(ref _unavailableJoins);

    /// <summary>What the server did that the protocol forbids (an error reply, a message of a room it is not in).</summary>
    public IReadOnlyList<string> Violations
    {
        get
        {
            lock (_violations)
            {
                return [.. _violations];
            }
        }
    }

    public ChaosRoomLog Log(string room) => _rooms[room];

    public static ChaosMember Start(NginxServer nginx, string user, IEnumerable<string> rooms)
    {
        var member = new ChaosMember(nginx, user, rooms);
        member._loop = Task.Run(member.RunOrRecordAsync);
        return member;
    }

    /// <summary>Connected, and a member of every room (no join or rejoin pending).</summary>
    public bool IsSettled => _client is { Socket.State: WebSocketState.Open } && _rooms.Values.All(r => r.IsJoined);

    /// <summary>A crash of the loop (say, a reply it cannot read) is shown in the test's failure, not lost with the task.</summary>
    private async Task RunOrRecordAsync()
    {
        try
        {
            await RunAsync();
        }
        catch (Exception ex)
        {
            Violation("the member's loop failed: " + ex);
        }
    }

    private async Task RunAsync()
    {
        var failedConnects = 0;
        while (!_stop.IsCancellationRequested)
        {
            ProtocolClient client;
            try
            {
                client = await ProtocolClient.ConnectAsync(_nginx.Ws("ws?user=" + User));
                await client.ExpectAsync("welcome");
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or TimeoutException or ChannelClosedException && !_stop.IsCancellationRequested)
            {
                // nginx may still try the killed node first; a real client backs off before it tries again.
                if (++failedConnects > 100)
                {
                    Violation($"could not reconnect through nginx 100 times: {ex.Message}");
                    return;
                }

                await Task.Delay(50, _stop.Token).ContinueWith(_ => { }, TaskScheduler.Default);
                continue;
            }

            failedConnects = 0;
            Interlocked.Increment(ref _connections);
            _client = client;
            try
            {
                foreach (var room in _rooms.Keys)
                {
                    await JoinAsync(client, room);
                }

                await ReceiveUntilClosedAsync(client);
            }
            catch (WebSocketException)
            {
                // The connection dropped while a join was being sent: reconnect.
            }
            finally
            {
                _client = null;
                foreach (var log in _rooms.Values)
                {
                    log.Disconnected();
                }

                lock (_pendingJoins)
                {
                    _pendingJoins.Clear();
                }

                await client.DisposeAsync();
            }
        }
    }

    private async Task ReceiveUntilClosedAsync(ProtocolClient client)
    {
        while (!_stop.IsCancellationRequested)
        {
            JsonElement message;
            try
            {
                message = await client.ExpectAsync(_ => true, IdleWait);
            }
            catch (OperationCanceledException)
            {
                // Nothing for a while (the publisher paused or stopped): keep listening.
                continue;
            }
            catch (ChannelClosedException)
            {
                return;
            }

            await HandleAsync(client, message);
        }
    }

    private async Task HandleAsync(ProtocolClient client, JsonElement message)
    {
        switch (message.GetProperty("op").GetString())
        {
            case "message":
                var room = message.GetProperty("room").GetString()!;
                if (!_rooms[room].Deliver(message.GetProperty("offset").GetUInt64(), message.GetProperty("data").GetString()!))
                {
                    Violation($"{room}: offset {message.GetProperty("offset")} delivered while not a member");
                }

                break;
            case "removed":
                var removedFrom = message.GetProperty("room").GetString()!;
                if (message.GetProperty("code").GetString() != "stream_lost" || !message.TryGetProperty("rejoin", out var rejoin) || !rejoin.GetBoolean())
                {
                    Violation($"{removedFrom}: removed without an invitation to rejoin: {message}");
                    return;
                }

                _rooms[removedFrom].ToldStreamLost();
                await JoinAsync(client, removedFrom);
                break;
            case "reply" or "error" when message.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.Number:
                string? joined;
                lock (_pendingJoins)
                {
                    _pendingJoins.Remove(id.GetInt32(), out joined);
                }

                if (joined is null)
                {
                    return;
                }

                if (message.GetProperty("op").GetString() == "error")
                {
                    if (message.GetProperty("code").GetString() == "unavailable")
                    {
                        // The node cannot reach Redis yet (it restarted, or the node is still connecting):
                        // a real client backs off and joins again.
                        Interlocked.Increment(ref _unavailableJoins);
                        await Task.Delay(100, _stop.Token).ContinueWith(_ => { }, TaskScheduler.Default);
                        await JoinAsync(client, joined);
                        return;
                    }

                    Violation($"{joined}: join refused: {message}");
                    return;
                }

                _rooms[joined].Joined(message);
                break;
        }
    }

    private async Task JoinAsync(ProtocolClient client, string room)
    {
        var since = _rooms[room].Since();
        var join = since is { } position
            ? $$$"""{"op":"join","room":"{{{room}}}","since":{"offset":{{{position.Offset}}},"epoch":"{{{position.Epoch}}}"}"""
            : $$"""{"op":"join","room":"{{room}}" """;
        _rooms[room].Joining();
        // The id is registered before the reply can arrive: this loop reads the replies itself.
        var id = await client.SendWithIdAsync(join + "}");
        lock (_pendingJoins)
        {
            _pendingJoins[id] = room;
        }
    }

    private void Violation(string what)
    {
        lock (_violations)
        {
            _violations.Add($"{User}: {what}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_client is { } client)
        {
            client.Socket.Abort();
        }

        await _loop.WaitAsync(TimeSpan.FromSeconds(15));
        _stop.Dispose();
    }
}
