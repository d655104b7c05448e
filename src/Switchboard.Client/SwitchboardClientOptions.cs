using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Switchboard.Client;

/// <summary>Settings of a <see cref="SwitchboardClient"/>.</summary>
public sealed class SwitchboardClientOptions
{
    /// <summary>A fixed JWT sent in the <c>bearer.TOKEN</c> subprotocol. Ignored when <see cref="GetToken"/> is set.</summary>
    public string? Token { get; init; }

    /// <summary>
    /// Supplies a JWT before every connection attempt and, before the current token's <c>exp</c>, for a
    /// <c>refresh</c> on the live connection. Preferred over <see cref="Token"/> for tokens that expire.
    /// </summary>
    public Func<CancellationToken, ValueTask<string>>? GetToken { get; init; }

    /// <summary>Development only: the user id sent as <c>?user=</c> when the server allows it and no token is used.</summary>
    public string? User { get; init; }

    /// <summary>Reconnect delays.</summary>
    public BackoffOptions Backoff { get; init; } = new();

    /// <summary>
    /// Publishes and direct sends kept while disconnected, sent in order once the connection is back.
    /// When full, the oldest is rejected with <see cref="ClientErrorCodes.OfflineQueueFull"/>. 0 fails
    /// every send made while disconnected.
    /// </summary>
    public int OfflineQueue { get; init; } = 100;

    /// <summary>
    /// Messages each room buffers for <see cref="SwitchboardRoom.Messages"/>. When the application reads
    /// too slowly the oldest buffered message is dropped and counted (<see cref="SwitchboardRoom.DroppedMessages"/>,
    /// <see cref="SwitchboardRoom.MessagesDropped"/>). 0 turns the buffer off for applications that only
    /// use <see cref="SwitchboardRoom.MessageReceived"/>.
    /// </summary>
    public int MessageBuffer { get; init; } = 1000;

    /// <summary>
    /// Frames waiting for the socket's writer. A send that finds it full waits (cancellably) for room:
    /// this is the client's backpressure.
    /// </summary>
    public int SendQueue { get; init; } = 256;

    /// <summary>The largest frame the client accepts from the server; a bigger one closes the connection with 1009 and reconnects.</summary>
    public int MaxReceiveBytes { get; init; } = 64 * 1024 * 1024;

    /// <summary>
    /// Whether the client offers permessage-deflate (RFC 7692), as browsers always do. The server decides:
    /// it accepts only with <c>Switchboard:Compression:Enabled</c>, and by default answers without
    /// context takeover, so neither side keeps a compressor between messages. Worth it for large
    /// messages on slow or metered links; it costs CPU on both sides.
    /// </summary>
    public bool Compression { get; init; }

    /// <summary>
    /// The transports to try, in order, on each attempt (protocol.md, "Transports"). By default a
    /// WebSocket, then server-sent events when the WebSocket cannot be opened (a proxy or a firewall
    /// that refuses the upgrade). A WebSocket that opened and then dropped is an ordinary reconnect.
    /// </summary>
    public IReadOnlyList<ClientTransport> Transports { get; init; } = [ClientTransport.WebSocket, ClientTransport.ServerSentEvents];

    /// <summary>
    /// After a fallback to server-sent events, how long reconnects go straight to them rather than
    /// paying for a failing WebSocket each time. After that every reconnect tries the WebSocket
    /// first again (a proxy may have been fixed).
    /// </summary>
    public TimeSpan WebSocketRetry { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The <c>/events</c> URL of server-sent events. By default <c>events</c> beside the WebSocket's
    /// path, over http(s), with the same query.
    /// </summary>
    public Uri? EventsUri { get; init; }

    /// <summary>
    /// Carries the client's HTTP: the event stream and its POSTs, and the WebSocket's upgrade request
    /// (for a proxy, custom certificates, or a test that refuses the upgrade). Not disposed by the client.
    /// By default the client makes its own.
    /// </summary>
    public HttpMessageHandler? HttpMessageHandler { get; init; }

    /// <summary>Time allowed for the upgrade (or the event stream's response headers) and the server's <c>welcome</c>.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How often the client pings the server. With <see cref="KeepAliveTimeout"/> this detects a peer
    /// that vanished without closing (a dead node, a dropped route), which TCP alone may take minutes to notice.
    /// On server-sent events the server's heartbeats (the welcome's <c>ping</c>) take the place of the
    /// pongs: a stream silent for longer than that plus <see cref="KeepAliveTimeout"/> is dropped.
    /// </summary>
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How long the client waits for the pong before it drops the connection and reconnects.</summary>
    public TimeSpan KeepAliveTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Time allowed for the server's close frame after the client sent its own.</summary>
    public TimeSpan CloseTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Serializer options for data published and read with the generic helpers. Defaults to
    /// <see cref="JsonSerializerOptions.Web"/> (camelCase, case-insensitive), what JavaScript peers expect.
    /// </summary>
    public JsonSerializerOptions JsonOptions { get; init; } = JsonSerializerOptions.Web;

    /// <summary>Where the client logs connection life; nothing is logged per message above Debug.</summary>
    public ILogger? Logger { get; init; }
}
