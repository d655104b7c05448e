using System.Net.WebSockets;
using System.Text.Json;
using Switchboard.Tests.Infrastructure;

namespace Switchboard.Tests.Redis;

/// <summary>
/// A member of one room that behaves as a client should through a failover: it keeps every
/// publication it receives, and when the server tells it the room's stream was lost
/// (<see cref="StreamLostSignal"/>) it rejoins with <c>since</c> (reconnecting first if it was
/// closed), retrying while joins are refused with <c>unavailable</c>. What it held of each epoch is
/// kept as a <see cref="MemberSegment"/> for the test to check.
/// </summary>
internal sealed class FailoverMember : IAsyncDisposable
{
    // Longer than a failover takes here (docs/scaling.md measures up to 27 s until writes resume).
    private static readonly TimeSpan RejoinTimeout = TimeSpan.FromSeconds(45);

    private readonly TestServer _node;
    private readonly string _room;
    private readonly Lock _lock = new();
    private readonly List<MemberSegment> _segments = [];
    private readonly CancellationTokenSource _stop = new();
    private ProtocolClient _client;
    private Task _reading = Task.CompletedTask;

    private FailoverMember(TestServer node, string user, string room, ProtocolClient client)
    {
        _node = node;
        User = user;
        _room = room;
        _client = client;
    }

    public string User { get; }

    /// <summary>Joins <paramref name="room"/> on <paramref name="node"/> as <paramref name="user"/> and starts reading.</summary>
    public static async Task<FailoverMember> JoinAsync(TestServer node, string user, string room)
    {
        var member = new FailoverMember(node, user, room, await node.ConnectAsync(user));
        var reply = await member._client.RequestAsync($$"""{"op":"join","room":"{{room}}"}""");
        if (reply.GetProperty("op").GetString() != "reply")
        {
            await member._client.DisposeAsync();
            throw new InvalidOperationException($"{user} could not join: {reply}");
        }

        member.StartSegment(reply, recovered: null);
        member._reading = member.ReadAsync();
        return member;
    }

    /// <summary>A copy of every segment so far, the current one last.</summary>
    public IReadOnlyList<MemberSegment> Segments()
    {
        lock (_lock)
        {
            return [.. _segments.Select(s => s.Copy())];
        }
    }

    /// <summary>Whether the member is in <paramref name="epoch"/> and holds it up to <paramref name="offset"/>; rethrows what stopped its reading, if anything did.</summary>
    public bool Reached(string epoch, ulong offset)
    {
        if (_reading.IsFaulted)
        {
            _reading.GetAwaiter().GetResult();
        }

        lock (_lock)
        {
            return _segments[^1].Epoch == epoch && _segments[^1].Last >= offset;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        // How the reading ended is not thrown here: a failure was reported by Reached, which the test
        // polls, and throwing it again from a finally block would hide the test's own failure. It
        // must end, though, before the client goes: a rejoin may be replacing it. (A request in
        // flight ends within ProtocolClient.DefaultTimeout.)
        await _reading.WaitAsync(ProtocolClient.DefaultTimeout * 2).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (!_reading.IsCompleted)
        {
            throw new TimeoutException($"{User}'s reading did not stop");
        }

        await _client.DisposeAsync();
        _stop.Dispose();
    }

    private async Task ReadAsync()
    {
        while (true)
        {
            var message = await _client.NextOrClosedAsync(_stop.Token);
            WebSocketCloseStatus? close = message is null ? await _client.Closed.Task : null;
            if (StreamLostSignal.Tells(_room, message, close))
            {
                lock (_lock)
                {
                    _segments[^1].MarkTold();
                }

                await RejoinAsync(reconnect: message is null);
                continue;
            }

            if (message is not { } m)
            {
                throw new InvalidOperationException($"{User} was closed with {close?.ToString() ?? "no status"}, which does not tell a lost stream");
            }

            if (m.GetProperty("op").GetString() == "message" && m.GetProperty("room").GetString() == _room)
            {
                lock (_lock)
                {
                    _segments[^1].Add(m.Offset(), m.GetProperty("data").GetInt32());
                }
            }
        }
    }

    private async Task RejoinAsync(bool reconnect)
    {
        MemberSegment told;
        lock (_lock)
        {
            told = _segments[^1];
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        deadline.CancelAfter(RejoinTimeout);
        while (true)
        {
            if (reconnect)
            {
                await _client.DisposeAsync();
                _client = await _node.ConnectAsync(User);
                reconnect = false;
            }

            var reply = await _client.RequestAsync($$$"""{"op":"join","room":"{{{_room}}}","since":{"offset":{{{told.Last}}},"epoch":"{{{told.Epoch}}}"}}""");
            if (reply.GetProperty("op").GetString() == "reply")
            {
                StartSegment(reply, reply.GetProperty("recovered").GetBoolean());
                return;
            }

            // While no master is reachable a join is refused (docs/scaling.md, "What clients see
            // during a failover"); anything else is a failure of its own.
            if (reply.GetProperty("code").GetString() != "unavailable")
            {
                throw new InvalidOperationException($"{User}'s rejoin was answered {reply}");
            }

            // Pacing between refused rejoins, as a client backs off; the deadline bounds it.
            await Task.Delay(50, deadline.Token);
        }
    }

    /// <summary>A segment from a join reply: its epoch, and the publications it carried (a rejoin with <c>since</c>) as the first held.</summary>
    private void StartSegment(JsonElement reply, bool? recovered)
    {
        var publications = reply.TryGetProperty("publications", out var p) ? [.. p.EnumerateArray()] : Array.Empty<JsonElement>();
        var joinedAt = publications.Length > 0 ? publications[0].Offset() - 1 : reply.GetProperty("offset").GetUInt64();
        var segment = new MemberSegment(reply.GetProperty("epoch").GetString()!, joinedAt, recovered);
        foreach (var publication in publications)
        {
            segment.Add(publication.Offset(), publication.GetProperty("data").GetInt32());
        }

        lock (_lock)
        {
            _segments.Add(segment);
        }
    }
}
