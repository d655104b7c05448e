namespace Switchboard.Identity;

/// <summary>
/// The outcome of identifying a connection at the upgrade: an identity; or "deferred", when the
/// connection may still authenticate with its first message; or a refusal with the close code and
/// reason the accepted socket is closed with (browsers cannot read an HTTP status, but they can read
/// a close code).
/// </summary>
public readonly record struct IdentityResult(ConnectionIdentity? Identity, bool Deferred, int CloseCode, string? Reason)
{
    /// <summary>Admit the connection as <paramref name="identity"/>.</summary>
    public static IdentityResult Accept(ConnectionIdentity identity) => new(identity, false, 0, null);

    /// <summary>Admit the socket, but only an <c>auth</c> command may follow, within the first-message timeout.</summary>
    public static IdentityResult Defer() => new(null, true, 0, null);

    /// <summary>Refuse: the socket is closed with <paramref name="closeCode"/> right after the upgrade.</summary>
    public static IdentityResult Refuse(int closeCode, string reason) => new(null, false, closeCode, reason);
}
