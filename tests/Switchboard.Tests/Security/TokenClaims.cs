namespace Switchboard.Tests.Security;

/// <summary>
/// What a test token says. Each instance is stamped when it is made, so <c>new TokenClaims()</c> is a
/// token for <c>alice</c> valid for an hour from now; <c>with</c> changes one thing at a time.
/// </summary>
public sealed record TokenClaims
{
    /// <summary><c>sub</c>; null leaves it out.</summary>
    public string? Subject { get; init; } = "alice";

    /// <summary><c>exp</c>; null leaves it out.</summary>
    public DateTimeOffset? Expires { get; init; } = DateTimeOffset.UtcNow.AddHours(1);

    /// <summary><c>nbf</c>; null leaves it out.</summary>
    public DateTimeOffset? NotBefore { get; init; }

    /// <summary><c>iss</c>; null leaves it out.</summary>
    public string? Issuer { get; init; }

    /// <summary><c>aud</c>; null leaves it out.</summary>
    public string? Audience { get; init; }

    /// <summary>The rooms claim: a string, an array of strings, or null to leave it out.</summary>
    public object? Rooms { get; init; }

    /// <summary>A token for <paramref name="subject"/> that expires <paramref name="expiresIn"/> from now.</summary>
    public static TokenClaims For(string subject, TimeSpan? expiresIn = null) =>
        new() { Subject = subject, Expires = DateTimeOffset.UtcNow + (expiresIn ?? TimeSpan.FromHours(1)) };

    /// <summary>This token with a rooms claim listing <paramref name="rooms"/> as a JSON array.</summary>
    public TokenClaims Granting(params string[] rooms) => this with { Rooms = rooms };

    /// <summary>The JWT payload, with times as whole seconds since the epoch as RFC 7519 wants them.</summary>
    public Dictionary<string, object> ToPayload()
    {
        var payload = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["iat"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
        };
        Add(payload, "sub", Subject);
        Add(payload, "exp", Expires?.ToUnixTimeSeconds());
        Add(payload, "nbf", NotBefore?.ToUnixTimeSeconds());
        Add(payload, "iss", Issuer);
        Add(payload, "aud", Audience);
        Add(payload, "rooms", Rooms);
        return payload;
    }

    private static void Add(Dictionary<string, object> payload, string name, object? value)
    {
        if (value is not null)
        {
            payload[name] = value;
        }
    }
}
