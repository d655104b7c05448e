namespace Switchboard.Transports;

/// <summary>What a POST of commands to an HTTP stream's session must show besides the session id.</summary>
internal enum PostCredential
{
    /// <summary>
    /// Nothing more: the session id (128 random bits, known only to the stream's reader) is the
    /// capability. Streams identified by <c>?token=</c> (a browser's <c>EventSource</c> cannot send
    /// headers), by the development <c>?user=</c>, or anonymous.
    /// </summary>
    SessionId,

    /// <summary>An <c>Authorization: Bearer</c> token for the same user, as the stream's request had.</summary>
    BearerHeader,

    /// <summary>The hosting app's own sign-in (its cookie, its scheme) for the same user, as the stream's request had.</summary>
    App,
}
