namespace Switchboard.Identity;

/// <summary>Who a connection is, and what its credentials grant.</summary>
/// <param name="User">The user id (a token's <c>sub</c>).</param>
/// <param name="IsAnonymous">True for connections admitted without any identity.</param>
/// <param name="ExpiresAt">When the token stops being acceptable (its <c>exp</c> plus the allowed clock skew); the connection is closed with 4003 then unless refreshed. Null: never.</param>
/// <param name="GrantedRooms">Rooms and patterns (<c>team:42:*</c>) from the token's rooms claim.</param>
public sealed record ConnectionIdentity(string User, bool IsAnonymous, DateTimeOffset? ExpiresAt, IReadOnlyList<string> GrantedRooms)
{
    /// <summary>An identity that was not proven by a token (anonymous, or the development <c>?user=</c>).</summary>
    public static ConnectionIdentity Unverified(string user, bool anonymous) => new(user, anonymous, null, []);
}
