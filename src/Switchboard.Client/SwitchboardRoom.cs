using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;
using Switchboard.Protocol;

namespace Switchboard.Client;

/// <summary>
/// A room the client has joined, and stays joined across reconnects until <see cref="LeaveAsync"/>.
/// Publications arrive in offset order, each exactly once: after a reconnect the re-join recovers
/// those missed (delivered before any newer one) and duplicates are dropped by offset.
/// </summary>
public sealed class SwitchboardRoom
{
    private readonly SwitchboardClient _client;
    private readonly Channel<RoomMessage>? _buffer;
    private readonly TaskCompletionSource _joined = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile StreamPositionBox? _position;
    private ClientSession? _liveOn;
    private long _dropped;

    internal SwitchboardRoom(SwitchboardClient client, string name, int buffer)
    {
        _client = client;
        Name = name;
        if (buffer > 0)
        {
            // Drop-oldest: a reader that falls behind loses the stalest messages, never the connection,
            // and never makes the receive loop (every other room's delivery) wait for it.
            _buffer = Channel.CreateBounded<RoomMessage>(
                new BoundedChannelOptions(buffer) { FullMode = BoundedChannelFullMode.DropOldest, SingleWriter = true },
                OnDropped);
        }
    }

    /// <summary>Raised for each publication, in offset order, on the client's receive loop.</summary>
    public event EventHandler<RoomMessage>? MessageReceived;

    /// <summary>Raised when a user's first connection joins the room or its last one leaves.</summary>
    public event EventHandler<PresenceChange>? PresenceChanged;

    /// <summary>Raised after a re-join recovered every missed publication (delivered just before this event).</summary>
    public event EventHandler<RoomRecovery>? Recovered;

    /// <summary>Raised when a re-join could not recover what was missed; reload the room's state by other means.</summary>
    public event EventHandler<RoomReset>? Reset;

    /// <summary>
    /// Raised when the server removed the connection from the room; the room is then left (see <see cref="RoomRemoved"/>).
    /// Not raised for a removal that invites a re-join (<c>stream_lost</c>: the server lost part of the room's
    /// stream): the room is then joined again at once with its position, and <see cref="Reset"/> is raised.
    /// </summary>
    public event EventHandler<RoomRemoved>? Removed;

    /// <summary>Raised when the <see cref="Messages"/> buffer was full and its oldest message was dropped.</summary>
    public event EventHandler<MessagesDropped>? MessagesDropped;

    /// <summary>The room's name.</summary>
    public string Name { get; }

    /// <summary>Completes on the first successful join; fails with <see cref="SwitchboardException"/> (for example <c>forbidden</c>) when refused.</summary>
    public Task Joined => _joined.Task;

    /// <summary>The last position seen in the room (the offset of the latest delivered publication, or the join's position).</summary>
    public StreamPosition? Position => _position?.Value;

    /// <summary>Messages dropped from the <see cref="Messages"/> buffer so far.</summary>
    public long DroppedMessages => Interlocked.Read(ref _dropped);

    /// <summary>
    /// The room's publications as an async stream for one reader, ending when the room is left or the
    /// client closes. Bounded by <see cref="SwitchboardClientOptions.MessageBuffer"/>: when full the
    /// oldest is dropped and counted.
    /// </summary>
    public IAsyncEnumerable<RoomMessage> Messages => _buffer is { } buffer
        ? buffer.Reader.ReadAllAsync()
        : throw new InvalidOperationException("SwitchboardClientOptions.MessageBuffer is 0: use the MessageReceived event");

    internal ClientSession? JoinedOn { get; private set; }

    /// <summary>
    /// Publishes <paramref name="data"/> (serialized with System.Text.Json) and returns its offset from
    /// the server's reply. Kept in the offline queue while disconnected. Fails with
    /// <see cref="SwitchboardException"/>: the server's error code, or <see cref="ClientErrorCodes.Disconnected"/>
    /// when the connection dropped after it was written (it may or may not have been published).
    /// </summary>
    public Task<ulong> PublishAsync<T>(T data, CancellationToken cancellationToken = default) =>
        PublishJsonAsync(JsonSerializer.SerializeToUtf8Bytes(data, _client.JsonOptions), cancellationToken);

    /// <summary>
    /// As <see cref="PublishAsync{T}(T, CancellationToken)"/>, with <paramref name="options"/>: with an
    /// <see cref="PublishOptions.IdempotencyKey"/>, a publish whose connection dropped before the reply
    /// is written again on the next connection instead of failing with <see cref="ClientErrorCodes.Disconnected"/>,
    /// and the server appends it once.
    /// </summary>
    public Task<ulong> PublishAsync<T>(T data, PublishOptions options, CancellationToken cancellationToken = default) =>
        PublishJsonAsync(JsonSerializer.SerializeToUtf8Bytes(data, _client.JsonOptions), options, cancellationToken);

    /// <summary>As <see cref="PublishAsync{T}(T, CancellationToken)"/>, with data that is already UTF-8 JSON (validated before sending).</summary>
    public Task<ulong> PublishJsonAsync(ReadOnlyMemory<byte> utf8Json, CancellationToken cancellationToken = default) =>
        PublishJsonAsync(utf8Json, options: null, cancellationToken);

    /// <summary>As <see cref="PublishAsync{T}(T, PublishOptions, CancellationToken)"/>, with data that is already UTF-8 JSON (validated before sending).</summary>
    public async Task<ulong> PublishJsonAsync(ReadOnlyMemory<byte> utf8Json, PublishOptions? options, CancellationToken cancellationToken = default)
    {
        var id = _client.NextId();
        var key = options?.IdempotencyKey;
        var request = new PendingRequest(id, Commands.Publish(id, Name, utf8Json.Span, key), WebSocketMessageType.Text, RequestKind.Queueable)
        {
            Repeatable = key is not null,
        };
        var reply = await _client.RequestAsync(request, cancellationToken).ConfigureAwait(false);
        return reply.GetProperty("offset").GetUInt64();
    }

    /// <summary>
    /// Publishes binary <paramref name="payload"/> as a binary frame. Completes once written to the
    /// socket: binary frames carry no id, so there is no reply and no offset; an error comes without
    /// an id (<see cref="SwitchboardClient.ErrorReceived"/>). Members receive it with <see cref="RoomMessage.IsBinary"/>.
    /// </summary>
    public Task PublishAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default)
    {
        var request = new PendingRequest(-_client.NextId(), BinaryFrames.EncodePublish(Name, payload.Span), WebSocketMessageType.Binary, RequestKind.Queueable);
        return _client.RequestAsync(request, cancellationToken);
    }

    /// <summary>Publishes <paramref name="payload"/> as binary: see <see cref="PublishAsync(ReadOnlyMemory{byte}, CancellationToken)"/>.</summary>
    public Task PublishAsync(byte[] payload, CancellationToken cancellationToken = default) =>
        PublishAsync(new ReadOnlyMemory<byte>(payload), cancellationToken);

    /// <summary>The users in the room with their number of connections. Fails with <c>disconnected</c> while not connected.</summary>
    public async Task<IReadOnlyDictionary<string, int>> PresenceAsync(CancellationToken cancellationToken = default)
    {
        var id = _client.NextId();
        var request = new PendingRequest(id, Commands.Presence(id, Name), WebSocketMessageType.Text, RequestKind.Query);
        var reply = await _client.RequestAsync(request, cancellationToken).ConfigureAwait(false);
        var users = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var user in reply.GetProperty("users").EnumerateObject())
        {
            users[user.Name] = user.Value.GetInt32();
        }

        return users;
    }

    /// <summary>
    /// Retained publications: the latest <paramref name="limit"/> (server default when null), or
    /// those after <paramref name="since"/>. Fails with <c>disconnected</c> while not connected.
    /// </summary>
    public async Task<HistoryPage> HistoryAsync(int? limit = null, StreamPosition? since = null, CancellationToken cancellationToken = default)
    {
        var id = _client.NextId();
        var request = new PendingRequest(id, Commands.History(id, Name, limit, since), WebSocketMessageType.Text, RequestKind.Query);
        var reply = await _client.RequestAsync(request, cancellationToken).ConfigureAwait(false);
        return new HistoryPage(ReadPosition(reply), ReadRecovered(reply), ReadPublications(reply));
    }

    /// <summary>Leaves the room: no more re-joins, and <see cref="Messages"/> ends. Leaving while disconnected needs no server round trip.</summary>
    public async Task LeaveAsync(CancellationToken cancellationToken = default)
    {
        _client.ForgetRoom(this);
        var id = _client.NextId();
        var request = new PendingRequest(id, Commands.Leave(id, Name), WebSocketMessageType.Text, RequestKind.Query);
        try
        {
            await _client.RequestAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (SwitchboardException e) when (e.Code is ClientErrorCodes.Disconnected or ClientErrorCodes.Closed or ErrorCodes.NotJoined)
        {
            // Not a member on the server any more (or no connection to be one on): the leave is done.
        }
        finally
        {
            Complete(null);
        }
    }

    /// <summary>Builds this room's join for <paramref name="session"/>, with the last position when there is one; the client holds its gate.</summary>
    internal PendingRequest CreateJoin(ClientSession session)
    {
        JoinedOn = session;
        var since = Position;
        var id = _client.NextId();
        return new PendingRequest(id, Commands.Join(id, Name, since), WebSocketMessageType.Text, RequestKind.Internal)
        {
            OnReply = reply => OnJoinReply(session, since, reply),
            OnError = error => OnJoinError(error),
        };
    }

    /// <summary>On the receive loop: a live publication. Ignored before this connection's join reply, and when already seen.</summary>
    internal void OnLiveMessage(ClientSession session, RoomMessage message)
    {
        if (_liveOn == session)
        {
            Deliver(message);
        }
    }

    internal void OnPresence(PresenceChange change) => _client.Raise(PresenceChanged, change);

    /// <summary>On the receive loop: the server ended the membership. The room is left for good, as after <see cref="LeaveAsync"/>.</summary>
    internal void OnRemoved(RoomRemoved removed)
    {
        _liveOn = null;
        _client.ForgetRoom(this);
        _client.Raise(Removed, removed);
        Complete(new SwitchboardException(removed.Code, removed.Message));
    }

    /// <summary>
    /// On the receive loop: the server lost part of the room's stream and ended the membership, inviting
    /// a re-join. Nothing of the room is delivered until the re-join's reply (which raises <see cref="Reset"/>).
    /// </summary>
    internal void OnStreamLost() => _liveOn = null;

    /// <summary>Marks the room as not joined on any connection, so that it is joined again; the client holds its gate.</summary>
    internal void ForgetJoin() => JoinedOn = null;

    /// <summary>The room is over (left, refused, or the client closed): the stream ends and an unfinished <see cref="Joined"/> fails.</summary>
    internal void Complete(Exception? error)
    {
        _buffer?.Writer.TryComplete(error);
        if (_joined.TrySetException(error ?? new SwitchboardException(ClientErrorCodes.Closed, $"room {Name} was left, or the client closed, before the join completed")))
        {
            // Nobody may be awaiting Joined; the failure stays readable for anyone who does.
            _ = _joined.Task.Exception;
        }
    }

    private void OnJoinReply(ClientSession session, StreamPosition? since, JsonElement reply)
    {
        var position = ReadPosition(reply);
        var publications = ReadPublications(reply);
        if (since is not { } previous)
        {
            _position = new StreamPositionBox(position);
        }
        else if (ReadRecovered(reply) == true)
        {
            var delivered = publications.Count(Deliver);
            SetPosition(position);
            _client.Raise(Recovered, new RoomRecovery(Name, delivered, Position!.Value));
        }
        else
        {
            Log.RoomReset(_client.Logger, Name, previous.Epoch, previous.Offset, position.Epoch, position.Offset);
            // A new stream (or a gap): offsets are compared within the new epoch from now on.
            _position = new StreamPositionBox(new StreamPosition(0, position.Epoch));
            _client.Raise(Reset, new RoomReset(Name, previous, position));
            foreach (var publication in publications)
            {
                Deliver(publication);
            }

            SetPosition(position);
        }

        _liveOn = session;
        _joined.TrySetResult();
    }

    private void OnJoinError(SwitchboardException error)
    {
        Log.JoinFailed(_client.Logger, Name, error.Code);
        _client.ForgetRoom(this);
        Complete(error);
    }

    private bool Deliver(RoomMessage message)
    {
        if (_position is { } last && message.Offset <= last.Value.Offset)
        {
            // Already delivered (a recovered publication that also arrived live, or a re-sent one).
            return false;
        }

        _position = new StreamPositionBox(new StreamPosition(message.Offset, _position?.Value.Epoch ?? string.Empty));
        _buffer?.Writer.TryWrite(message);
        _client.Raise(MessageReceived, message);
        return true;
    }

    private void SetPosition(StreamPosition position)
    {
        if (_position is not { } current || current.Value.Epoch != position.Epoch || current.Value.Offset < position.Offset)
        {
            _position = new StreamPositionBox(position);
        }
    }

    private void OnDropped(RoomMessage oldest)
    {
        var total = Interlocked.Increment(ref _dropped);
        Log.MessageDropped(_client.Logger, Name, total);
        _client.Raise(MessagesDropped, new MessagesDropped(Name, total, oldest));
    }

    private static StreamPosition ReadPosition(JsonElement reply) =>
        new(reply.GetProperty("offset").GetUInt64(), reply.GetProperty("epoch").GetString()!);

    private static bool? ReadRecovered(JsonElement reply) =>
        reply.TryGetProperty("recovered", out var recovered) ? recovered.GetBoolean() : null;

    private List<RoomMessage> ReadPublications(JsonElement reply)
    {
        var messages = new List<RoomMessage>();
        if (reply.TryGetProperty("publications", out var publications))
        {
            foreach (var publication in publications.EnumerateArray())
            {
                messages.Add(_client.ParsePublication(publication));
            }
        }

        return messages;
    }

    /// <summary>A position published with one volatile write (a struct field could be read torn).</summary>
    private sealed record StreamPositionBox(StreamPosition Value);
}
