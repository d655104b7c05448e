namespace Switchboard.Identity;

/// <summary>Who a connection is, and what its credentials grant.</summary>
/// <param name="User">The user id (a token's <c>sub</c>, or the app's user claim).</param>
/// <param name="IsAnonymous">True for connections admitted without any identity.</param>
/// <param name="ExpiresAt">When the token stops being acceptable (its <c>exp</c> plus the allowed clock skew); the connection is closed with 4003 then unless refreshed. Null: never.</param>
/// <param name="GrantedRooms">Rooms and patterns (<c>team:42:*</c>) from the token's or the app user's rooms claim.</param>
public sealed record ConnectionIdentity(string User, bool IsAnonymous, DateTimeOffset? ExpiresAt, IReadOnlyList<string> GrantedRooms)
{
    /// <summary>Where the identity came from.</summary>
    public IdentitySource Source { get; init; } = IdentitySource.Token;

    /// <summary>An identity that was not proven by a token (anonymous, or the development <c>?user=</c>).</summary>
    public static ConnectionIdentity Unverified(string user, bool anonymous) => new(user, anonymous, null, []) { Source = IdentitySource.Unverified };

    /// <summary>An identity the hosting app's authentication proved.</summary>
    public static ConnectionIdentity FromApp(string user, IReadOnlyList<string> grantedRooms) => new(user, false, null, grantedRooms) { Source = IdentitySource.App };
}
