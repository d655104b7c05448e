using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Protocol;

namespace Switchboard.Client;

/// <summary>
/// A connection to a Switchboard server's <c>/ws</c> endpoint (or, where a WebSocket cannot be
/// opened, its server-sent events) that survives drops: it reconnects with
/// full-jitter backoff, re-joins its rooms with their last position so missed publications arrive
/// before new ones, keeps sends made while offline, and refreshes its token before it expires.
/// </summary>
/// <remarks>
/// Events are raised on the client's receive loop, in the order the server sent things; handlers
/// must be quick and must not block (a handler that throws is logged and ignored). Apps that need
/// to do slow work per message should read <see cref="SwitchboardRoom.Messages"/> instead.
/// </remarks>
public sealed partial class SwitchboardClient : IAsyncDisposable
{
    /// <summary>
    /// How long the client's own HTTP connections (the SSE transport's command POSTs) stay pooled while
    /// idle: below the server's keep-alive timeout (10 s by default), so that a POST is never sent on a
    /// connection the server is closing that instant (HttpClient does not retry a POST). HttpClient's
    /// default is a minute.
    /// </summary>
    private static readonly TimeSpan PooledConnectionIdleTimeout = TimeSpan.FromSeconds(5);

    private readonly Uri _uri;
    private readonly SwitchboardClientOptions _options;
    private readonly ILogger _logger;
    private readonly ReconnectBackoff _backoff;
    private readonly Uri _eventsUri;
    private readonly TimeProvider _time;
    private readonly HttpMessageInvoker? _invoker;

    // Created on the first fallback: a client that never leaves the WebSocket needs no HttpClient.
    private readonly Lazy<HttpClient> _http;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _firstConnected = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Guards the current session's readiness, the offline queue, room membership and the closed flag:
    // the decision "write now, or queue" must be taken atomically with the session's start and end.
    private readonly Lock _gate = new();
    private readonly LinkedList<PendingRequest> _offline = new();
    private readonly ConcurrentDictionary<long, PendingRequest> _pending = new();
    private readonly ConcurrentDictionary<string, SwitchboardRoom> _rooms = new(StringComparer.Ordinal);
    private ClientSession? _session;
    private bool _closed;
    private bool _disposed;
    private Task? _run;
    private long _nextId;
    private volatile ConnectionStatus _status = new(ConnectionState.Connecting);
    private volatile string? _user;
    private volatile string? _sessionId;

    // When this client last fell back from a failing WebSocket to server-sent events (a TimeProvider
    // timestamp); only the run loop reads and writes it.
    private long? _fellBackAt;

    /// <summary>Creates a client for <paramref name="uri"/> (for example <c>ws://host:8080/ws</c>). Nothing happens until <see cref="ConnectAsync"/>.</summary>
    public SwitchboardClient(Uri uri, SwitchboardClientOptions? options = null)
        : this(uri, options, Random.Shared, TimeProvider.System)
    {
    }

    internal SwitchboardClient(Uri uri, SwitchboardClientOptions? options, Random random, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(uri);
        _options = options ?? new SwitchboardClientOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(_options.OfflineQueue);
        ArgumentOutOfRangeException.ThrowIfNegative(_options.MessageBuffer);
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.SendQueue, 1);
        if (_options.Transports is not { Count: > 0 })
        {
            throw new ArgumentException("Transports must name at least one transport", nameof(options));
        }

        _uri = WithUser(uri, _options.User);
        _eventsUri = _options.EventsUri is { } events ? WithUser(events, _options.User) : EventsBeside(_uri);
        _time = time;
        var handler = _options.HttpMessageHandler;
        _invoker = handler is null ? null : new HttpMessageInvoker(handler, disposeHandler: false);
        _http = new Lazy<HttpClient>(() => handler is null
            ? new HttpClient(new SocketsHttpHandler { PooledConnectionIdleTimeout = PooledConnectionIdleTimeout }) { Timeout = Timeout.InfiniteTimeSpan }
            : new HttpClient(handler, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan });
        _logger = _options.Logger ?? NullLogger.Instance;
        _backoff = new ReconnectBackoff(_options.Backoff, random);
    }

    /// <summary>Raised on every change of <see cref="Status"/>.</summary>
    public event EventHandler<ConnectionStatus>? StateChanged;

    /// <summary>Raised for every direct message to this client's user.</summary>
    public event EventHandler<DirectMessage>? DirectReceived;

    /// <summary>Raised for error messages that answer no particular command (binary publishes carry no id).</summary>
    public event EventHandler<ServerError>? ErrorReceived;

    /// <summary>The current state and why.</summary>
    public ConnectionStatus Status => _status;

    /// <summary>The current state.</summary>
    public ConnectionState State => _status.State;

    /// <summary>The user id the server gave this connection (from its welcome), once connected.</summary>
    public string? User => _user;

    /// <summary>What carries the current connection, while connected.</summary>
    public ClientTransport? Transport => _status.Transport;

    /// <summary>The server's session id of the current connection, once connected.</summary>
    public string? SessionId => _sessionId;

    /// <summary>
    /// Starts the client and completes when it is first connected (rooms joined before this call are
    /// joined then). Failed attempts are retried with backoff meanwhile. Throws
    /// <see cref="SwitchboardException"/> with <see cref="ClientErrorCodes.Closed"/> when the server
    /// refuses with a code that forbids reconnecting (for example 4501 for a bad token). Cancelling
    /// stops the wait, not the client: dispose it to stop.
    /// </summary>
    public Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _run ??= RunAsync(_stop.Token);
        }

        return _firstConnected.Task.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Joins <paramref name="room"/> now (or as soon as connected) and again after every reconnect,
    /// recovering what was missed. Joining a room twice returns the same <see cref="SwitchboardRoom"/>.
    /// </summary>
    public SwitchboardRoom Join(string room)
    {
        if (!NameRules.IsValid(room))
        {
            throw new ArgumentException("room must be 1-128 characters of A-Z a-z 0-9 _ - : . @ / = +", nameof(room));
        }

        lock (_gate)
        {
            ThrowIfClosed();
            if (_rooms.TryGetValue(room, out var existing))
            {
                return existing;
            }

            var joined = new SwitchboardRoom(this, room, _options.MessageBuffer);
            _rooms[room] = joined;
            if (_session is { Ready: true } session)
            {
                var write = WriteJoinLocked(joined, session);
                ObserveInternalWrite(write);
            }

            return joined;
        }
    }

    /// <summary>
    /// Sends <paramref name="data"/> (serialized with System.Text.Json) to every connection of
    /// <paramref name="user"/> and completes on the server's reply, whether or not the user is online.
    /// Kept in the offline queue while disconnected.
    /// </summary>
    public Task SendAsync<T>(string user, T data, CancellationToken cancellationToken = default) =>
        SendJsonAsync(user, JsonSerializer.SerializeToUtf8Bytes(data, _options.JsonOptions), cancellationToken);

    /// <summary>As <see cref="SendAsync{T}"/>, with data that is already UTF-8 JSON.</summary>
    public async Task SendJsonAsync(string user, ReadOnlyMemory<byte> utf8Json, CancellationToken cancellationToken = default)
    {
        if (!NameRules.IsValid(user))
        {
            throw new ArgumentException("user must be 1-128 characters of A-Z a-z 0-9 _ - : . @ / = +", nameof(user));
        }

        var id = NextId();
        var request = new PendingRequest(id, Commands.Send(id, user, utf8Json.Span), WebSocketMessageType.Text, RequestKind.Queueable);
        await RequestAsync(request, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Closes the connection (flushing what is queued, then a close handshake) and stops reconnecting. Pending commands fail with <see cref="ClientErrorCodes.Closed"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        Task? run;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _closed = true;
            run = _run;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        if (run is not null)
        {
            await run.ConfigureAwait(false);
        }
        else
        {
            FinishClosed(null, null);
        }

        _stop.Dispose();
        if (_http.IsValueCreated)
        {
            _http.Value.Dispose();
        }

        _invoker?.Dispose();
    }

    /// <summary>Test hook: drops the current connection without a close handshake, as a network failure would.</summary>
    internal void AbortConnection()
    {
        lock (_gate)
        {
            _session?.Abort();
        }
    }

    internal long NextId() => Interlocked.Increment(ref _nextId);

    internal JsonSerializerOptions? JsonOptions => _options.JsonOptions;

    internal ILogger Logger => _logger;

    internal void Raise<T>(EventHandler<T>? handler, T args)
    {
        if (handler is null)
        {
            return;
        }

        try
        {
            handler(this, args);
        }
#pragma warning disable CA1031 // An application's handler must not kill the receive loop; its failure is logged.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Log.HandlerFailed(_logger, e);
        }
    }

    internal void ForgetRoom(SwitchboardRoom room)
    {
        lock (_gate)
        {
            if (_rooms.TryGetValue(room.Name, out var current) && ReferenceEquals(current, room))
            {
                _rooms.TryRemove(room.Name, out _);
            }
        }
    }

    private void ThrowIfClosed()
    {
        if (_closed)
        {
            throw new SwitchboardException(ClientErrorCodes.Closed, "the client is closed", _status.CloseCode);
        }
    }

    /// <summary><c>events</c> beside the WebSocket's path (<c>ws://host/ws?user=a</c> gives <c>http://host/events?user=a</c>).</summary>
    internal static Uri EventsBeside(Uri webSocket)
    {
        var builder = new UriBuilder(new Uri(webSocket, "events"))
        {
            Query = webSocket.Query.TrimStart('?'),
        };
        builder.Scheme = builder.Scheme switch
        {
            "ws" => Uri.UriSchemeHttp,
            "wss" => Uri.UriSchemeHttps,
            var other => other,
        };
        return builder.Uri;
    }

    private static Uri WithUser(Uri uri, string? user)
    {
        if (string.IsNullOrEmpty(user))
        {
            return uri;
        }

        var builder = new UriBuilder(uri);
        var query = builder.Query.TrimStart('?');
        builder.Query = (query.Length > 0 ? query + "&" : string.Empty) + "user=" + Uri.EscapeDataString(user);
        return builder.Uri;
    }
}
