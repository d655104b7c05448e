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

    public static void Validate(SwitchboardOptions options, Action<bool, string, string> require)
    {
        var jwt = options.Auth.Jwt;
        require(string.IsNullOrEmpty(jwt.Secret) || string.IsNullOrEmpty(jwt.PublicKeyFile), "Auth:Jwt:Secret", "and Auth:Jwt:PublicKeyFile cannot both be set (one algorithm family per node prevents HS/RS confusion)");
        require(string.IsNullOrEmpty(jwt.Secret) || Encoding.UTF8.GetByteCount(jwt.Secret) >= MinSecretBytes, "Auth:Jwt:Secret", $"must be at least {MinSecretBytes} bytes");
        require(string.IsNullOrEmpty(jwt.PublicKeyFile) || File.Exists(jwt.PublicKeyFile), "Auth:Jwt:PublicKeyFile", $"names no readable file ('{jwt.PublicKeyFile}')");
        require(string.IsNullOrEmpty(jwt.PublicKeyFile) || !File.Exists(jwt.PublicKeyFile) || HoldsPublicKey(jwt.PublicKeyFile), "Auth:Jwt:PublicKeyFile", $"holds no PEM RSA or EC P-256 public key ('{jwt.PublicKeyFile}')");
        require(jwt.ClockSkewSeconds is >= 0 and <= 600, "Auth:Jwt:ClockSkewSeconds", "must be between 0 and 600");
        require(!string.IsNullOrWhiteSpace(jwt.RoomsClaim), "Auth:Jwt:RoomsClaim", "must not be empty");
        var app = options.Auth.App;
        require(app.Scheme is null || !string.IsNullOrWhiteSpace(app.Scheme), "Auth:App:Scheme", "must not be blank (leave it unset to use the user the app's authentication set)");
        require(app.UserClaim is null || !string.IsNullOrWhiteSpace(app.UserClaim), "Auth:App:UserClaim", "must not be blank (leave it unset for NameIdentifier, then sub)");
        require(!string.IsNullOrWhiteSpace(app.RoomsClaim), "Auth:App:RoomsClaim", "must not be empty");
        require(options.Auth.FirstMessageTimeoutSeconds is > 0 and <= 300, "Auth:FirstMessageTimeoutSeconds", "must be greater than 0 and at most 300");
        require(options.Api.Keys.TrueForAll(k => k.Length >= MinApiKeyLength), "Api:Keys", $"must each be at least {MinApiKeyLength} characters");
        require(options.AllowedOrigins.TrueForAll(IsOrigin), "AllowedOrigins", "must be origins such as https://app.example.com (http or https, a host, no path), or *");
        require(options.TrustedProxies.TrueForAll(p => IPAddress.TryParse(p, out _)), "TrustedProxies", "must be IP addresses");
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

    private static bool HoldsPublicKey(string path)
    {
        var pem = File.ReadAllText(path);
        using var ec = System.Security.Cryptography.ECDsa.Create();
        using var rsa = System.Security.Cryptography.RSA.Create();
        return TryImport(() => ec.ImportFromPem(pem)) || TryImport(() => rsa.ImportFromPem(pem));
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
