namespace Switchboard.Protocol;

/// <summary>
/// WebSocket close codes Switchboard uses. Codes 4000-4499 tell a client to reconnect (and rejoin with
/// <c>since</c> to recover what it missed); codes 4500-4999 tell it not to reconnect until it changes
/// something (its token, its payloads). Standard codes keep their RFC 6455 meaning.
/// </summary>
public static class CloseCodes
{
    /// <summary>Normal closure, answered to a client's own close.</summary>
    public const int Normal = 1000;

    /// <summary>The server is draining for shutdown or deploy: reconnect, ideally to another node.</summary>
    public const int GoingAway = 1001;

    /// <summary>A text frame held invalid UTF-8: a client bug, do not resend the same frame.</summary>
    public const int InvalidPayload = 1007;

    /// <summary>A message exceeded <c>Limits:MaxMessageBytes</c>: do not resend the same message.</summary>
    public const int MessageTooBig = 1009;

    /// <summary>An unexpected server fault: reconnect with backoff.</summary>
    public const int InternalError = 1011;

    /// <summary>The client did not read fast enough and its outbound queue overflowed: reconnect and recover.</summary>
    public const int SlowConsumer = 4000;

    /// <summary>The client stopped answering pings. Rarely seen by the client itself; documented for logs.</summary>
    public const int HeartbeatTimeout = 4001;

    /// <summary>The server lost a room's message stream for this connection: reconnect and recover.</summary>
    public const int InsufficientState = 4002;

    /// <summary>The connection's token expired without a refresh: fetch a new token, then reconnect.</summary>
    public const int TokenExpired = 4003;

    /// <summary>The client broke the protocol in a way that cannot be answered with an error reply.</summary>
    public const int ProtocolViolation = 4500;

    /// <summary>
    /// No valid identity: a missing, malformed, tampered or wrongly signed token, no <c>auth</c> within
    /// the first-message timeout, or a command before <c>auth</c>. Reconnect only with a new token.
    /// </summary>
    public const int Unauthorized = 4501;

    /// <summary>The identity may not use this endpoint or room (plain rooms check permissions at connect).</summary>
    public const int Forbidden = 4502;

    /// <summary>The client kept sending after being rate-limited: back off for a while before reconnecting.</summary>
    public const int RateLimited = 4503;

    /// <summary>The user already has <c>Limits:MaxConnectionsPerUser</c> connections.</summary>
    public const int TooManyConnections = 4504;

    /// <summary>
    /// Whether a client that sees <paramref name="code"/> should reconnect on its own.
    /// </summary>
    public static bool ShouldReconnect(int code) => code switch
    {
        GoingAway or InternalError => true,
        >= 4000 and < 4500 => true,
        // 1006 is never sent on the wire; clients see it when the connection dropped without a close.
        1006 => true,
        _ => false,
    };
}
