using System.Security.Claims;

namespace Switchboard.Identity;

/// <summary>
/// How claims become a <see cref="ConnectionIdentity"/>, shared by Switchboard's token validator and
/// the app's own authentication, so a rooms claim means the same wherever it comes from.
/// </summary>
internal static class ClaimMapping
{
    /// <summary>The reason a refused user id is given, safe to show the client.</summary>
    public const string UserRule = "1-128 characters of A-Z a-z 0-9 _ - : . @ / = +";

    /// <summary>The first claim of the first of <paramref name="types"/> that <paramref name="claims"/> hold, or null.</summary>
    public static Claim? FindUser(IEnumerable<Claim> claims, params ReadOnlySpan<string> types)
    {
        foreach (var type in types)
        {
            foreach (var claim in claims)
            {
                if (claim.Type == type)
                {
                    return claim;
                }
            }
        }

        return null;
    }

    /// <summary>
    /// The rooms and patterns granted by every <paramref name="type"/> claim: a JSON array in a token
    /// arrives as one claim per element, and each value may itself list several, space-separated.
    /// </summary>
    public static string[] ReadRooms(IEnumerable<Claim> claims, string type) =>
        claims.Where(c => c.Type == type).SelectMany(c => c.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToArray();
}
