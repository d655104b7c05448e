namespace Switchboard.Options;

/// <summary>
/// Identity from the hosting app's own ASP.NET Core authentication (a cookie, JwtBearer, any scheme):
/// when the upgrade request's user is authenticated, that user is the connection's identity, before
/// any Switchboard token is looked for.
/// </summary>
public sealed class AppAuthOptions
{
    /// <summary>Whether an authenticated <c>HttpContext.User</c> (or <see cref="Scheme"/>'s result) identifies the connection.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// A scheme to authenticate the upgrade request with explicitly (<c>HttpContext.AuthenticateAsync(scheme)</c>),
    /// for endpoints no authorization policy runs on and apps whose default scheme is another one.
    /// Unset: the user the app's authentication middleware (or the endpoint's policy) already set.
    /// </summary>
    public string? Scheme { get; set; }

    /// <summary>
    /// The claim holding the user id. Unset: <c>ClaimTypes.NameIdentifier</c>, then <c>sub</c>
    /// (what cookie sign-ins and JwtBearer with or without inbound claim mapping produce). The value must
    /// follow the user-id rules; a signed-in user without it is refused with 4501, not let in anonymously.
    /// </summary>
    public string? UserClaim { get; set; }

    /// <summary>
    /// The claim listing rooms or patterns the user is granted, read as the token's rooms claim is:
    /// one claim per room, or one space-separated claim.
    /// </summary>
    public string RoomsClaim { get; set; } = "rooms";
}
