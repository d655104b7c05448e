using System.Net;
using System.Text;

namespace Switchboard.Options;

/// <summary>Start-up checks of the security options, kept apart from the size and count checks.</summary>
internal static class SecurityRules
{
    /// <summary>HS256 needs at least 256 bits of key; shorter secrets are brute-forceable.</summary>
    public const int MinSecretBytes = 32;

    /// <summary>API keys shorter than this are guessable.</summary>
    public const int MinApiKeyLength = 16;

    /// <summary>Below this an RSA key can be factored by a determined attacker (NIST SP 800-57 retired 1024 bits in 2013).</summary>
    public const int MinRsaKeyBits = 2048;

    public static void Validate(SwitchboardOptions options, Action<bool, string, string> require)
    {
        var jwt = options.Auth.Jwt;
        require(string.IsNullOrEmpty(jwt.Secret) || string.IsNullOrEmpty(jwt.PublicKeyFile), "Auth:Jwt:Secret", "and Auth:Jwt:PublicKeyFile cannot both be set (one algorithm family per node prevents HS/RS confusion)");
        require(string.IsNullOrEmpty(jwt.Secret) || Encoding.UTF8.GetByteCount(jwt.Secret) >= MinSecretBytes, "Auth:Jwt:Secret", $"must be at least {MinSecretBytes} bytes");
        require(string.IsNullOrEmpty(jwt.PublicKeyFile) || File.Exists(jwt.PublicKeyFile), "Auth:Jwt:PublicKeyFile", $"names no readable file ('{jwt.PublicKeyFile}')");
        var keyProblem = string.IsNullOrEmpty(jwt.PublicKeyFile) || !File.Exists(jwt.PublicKeyFile) ? null : PublicKeyProblem(jwt.PublicKeyFile);
        require(keyProblem is null, "Auth:Jwt:PublicKeyFile", $"{keyProblem} ('{jwt.PublicKeyFile}')");
        require(jwt.ClockSkewSeconds is >= 0 and <= 600, "Auth:Jwt:ClockSkewSeconds", "must be between 0 and 600");
        require(!string.IsNullOrWhiteSpace(jwt.RoomsClaim), "Auth:Jwt:RoomsClaim", "must not be empty");
        var app = options.Auth.App;
        require(app.Scheme is null || !string.IsNullOrWhiteSpace(app.Scheme), "Auth:App:Scheme", "must not be blank (leave it unset to use the user the app's authentication set)");
        require(app.UserClaim is null || !string.IsNullOrWhiteSpace(app.UserClaim), "Auth:App:UserClaim", "must not be blank (leave it unset for NameIdentifier, then sub)");
        require(!string.IsNullOrWhiteSpace(app.RoomsClaim), "Auth:App:RoomsClaim", "must not be empty");
        require(options.Auth.FirstMessageTimeoutSeconds is > 0 and <= 300, "Auth:FirstMessageTimeoutSeconds", "must be greater than 0 and at most 300");
        require(options.Api.Keys.TrueForAll(k => k.Length >= MinApiKeyLength), "Api:Keys", $"must each be at least {MinApiKeyLength} characters");
        require(string.IsNullOrEmpty(options.PublicOrigin) || (options.PublicOrigin != "*" && IsOrigin(options.PublicOrigin)), "PublicOrigin", "must be an origin such as https://chat.example.com (http or https, a host, no path)");
        require(options.AllowedOrigins.TrueForAll(IsOrigin), "AllowedOrigins", "must be origins such as https://app.example.com (http or https, a host, no path), or *");
        require(options.TrustedProxies.TrueForAll(p => IPAddress.TryParse(p, out _) || IPNetwork.TryParse(p, out _)), "TrustedProxies", "must be IP addresses or networks in CIDR notation (10.0.0.0/8)");
        for (var i = 0; i < options.Rooms.Rules.Count; i++)
        {
            var rule = options.Rooms.Rules[i];
            var key = $"Rooms:Rules:{i}";
            require(IsPattern(rule.Pattern), key + ":Pattern", $"must be a room name, a prefix ending in *, or * (got '{rule.Pattern}')");
            require(rule.Join is RoomAccess.Anyone or RoomAccess.Authenticated or RoomAccess.Granted or RoomAccess.Nobody, key + ":Join", "must be anyone, authenticated, granted or nobody");
            require(rule.Publish is RoomAccess.Members or RoomAccess.Granted or RoomAccess.Server, key + ":Publish", "must be members, granted or server");
        }
    }

    private static bool IsOrigin(string origin) =>
        origin == "*" || (Uri.TryCreate(origin, UriKind.Absolute, out var uri)
            && uri.Scheme is "http" or "https" && uri.Host.Length > 0 && uri.AbsolutePath == "/" && !origin.TrimEnd('/').EndsWith(':'));

    /// <summary>What makes the key file unusable or too weak to verify tokens with; null when it is fine.</summary>
    private static string? PublicKeyProblem(string path)
    {
        var pem = File.ReadAllText(path);
        using var ec = System.Security.Cryptography.ECDsa.Create();
        if (TryImport(() => ec.ImportFromPem(pem)))
        {
            // ES256 is the one EC algorithm accepted, and it is defined on P-256 alone.
            var curve = ec.ExportParameters(includePrivateParameters: false).Curve;
            return curve.Oid.Value == System.Security.Cryptography.ECCurve.NamedCurves.nistP256.Oid.Value
                ? null
                : $"holds an EC key on curve {curve.Oid.FriendlyName ?? curve.Oid.Value}, but ES256 needs P-256";
        }

        using var rsa = System.Security.Cryptography.RSA.Create();
        if (TryImport(() => rsa.ImportFromPem(pem)))
        {
            return rsa.KeySize >= MinRsaKeyBits ? null : $"holds a {rsa.KeySize}-bit RSA key: at least {MinRsaKeyBits} bits are required";
        }

        return "holds no PEM RSA or EC P-256 public key";
    }

    private static bool TryImport(Action import)
    {
        try
        {
            import();
            return true;
        }
        catch (Exception ex) when (ex is ArgumentException or System.Security.Cryptography.CryptographicException)
        {
            return false;
        }
    }

    private static bool IsPattern(string pattern) =>
        pattern == "*" || Protocol.NameRules.IsValid(pattern.EndsWith('*') ? pattern[..^1] : pattern);
}
