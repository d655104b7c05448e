using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Switchboard.Client.Tests.Infrastructure;

/// <summary>HS256 tokens as an identity provider would issue them, and the server settings that trust them.</summary>
public static class Tokens
{
    public const string Secret = "switchboard-client-tests-hs256-secret-0123456789";

    /// <summary>A node that accepts only tokens signed with <see cref="Secret"/>.</summary>
    public static Dictionary<string, string?> ServerSettings(int clockSkewSeconds = 30) => new()
    {
        ["Switchboard:Auth:Jwt:Secret"] = Secret,
        ["Switchboard:Auth:Jwt:ClockSkewSeconds"] = clockSkewSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Switchboard:Auth:AllowQueryUser"] = "false",
        ["Switchboard:Auth:AllowAnonymous"] = "false",
    };

    public static string Create(string user, TimeSpan lifetime, string secret = Secret)
    {
        var header = Encode(new { alg = "HS256", typ = "JWT" });
        var payload = Encode(new { sub = user, exp = DateTimeOffset.UtcNow.Add(lifetime).ToUnixTimeSeconds() });
        var signed = header + "." + payload;
        var signature = Base64Url.EncodeToString(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.ASCII.GetBytes(signed)));
        return signed + "." + signature;
    }

    private static string Encode(object value) => Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(value));
}
