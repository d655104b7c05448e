namespace Switchboard.Options;

/// <summary>JWT validation settings. Exactly one of <see cref="Secret"/> and <see cref="PublicKeyFile"/> enables tokens.</summary>
public sealed class JwtOptions
{
    /// <summary>Shared secret for HS256 tokens, at least 32 bytes of UTF-8.</summary>
    public string? Secret { get; set; }

    /// <summary>PEM file with an RSA (RS256) or EC P-256 (ES256) public key.</summary>
    public string? PublicKeyFile { get; set; }

    /// <summary>Required <c>iss</c>, when set.</summary>
    public string? Issuer { get; set; }

    /// <summary>Required <c>aud</c>, when set.</summary>
    public string? Audience { get; set; }

    /// <summary>Tolerance for clock differences when checking <c>exp</c> and <c>nbf</c>.</summary>
    public double ClockSkewSeconds { get; set; } = 30;

    /// <summary>The claim listing extra rooms or patterns (<c>team:42</c>, <c>team:42:*</c>) the token grants.</summary>
    public string RoomsClaim { get; set; } = "rooms";

    /// <summary>Whether any verification key is configured.</summary>
    public bool Enabled => !string.IsNullOrEmpty(Secret) || !string.IsNullOrEmpty(PublicKeyFile);
}
