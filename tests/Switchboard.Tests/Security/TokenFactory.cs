using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Switchboard.Tests.Security;

/// <summary>
/// Issues tokens as a real identity provider would (HS256 with a shared secret; RS256 or ES256 with a
/// private key whose public half goes to a PEM file for the server), and the forgeries an attacker
/// would try: <c>alg: none</c>, a changed payload under the old signature, HS256 signed with the
/// server's public key as the secret.
/// </summary>
public sealed class TokenFactory : IDisposable
{
    /// <summary>A secret of more than the 32 bytes HS256 needs.</summary>
    public const string DefaultSecret = "switchboard-tests-hs256-secret-0123456789";

    // Key pairs are made once per test process: RSA generation costs up to a second on a small machine.
    private static readonly Lazy<RSA>[] s_rsaKeys = [new(() => RSA.Create(2048)), new(() => RSA.Create(2048))];
    private static readonly Lazy<ECDsa>[] s_ecKeys = [new(() => ECDsa.Create(ECCurve.NamedCurves.nistP256)), new(() => ECDsa.Create(ECCurve.NamedCurves.nistP256))];

    private readonly JsonWebTokenHandler _handler = new() { SetDefaultTimesOnTokenCreation = false };
    private readonly SigningCredentials _credentials;

    private TokenFactory(SigningCredentials credentials, string? secret, string? publicKeyPem)
    {
        _credentials = credentials;
        Secret = secret;
        PublicKeyPem = publicKeyPem;
        if (publicKeyPem is not null)
        {
            PublicKeyFile = Path.Combine(Path.GetTempPath(), $"switchboard-test-{Guid.NewGuid():N}.pem");
            File.WriteAllText(PublicKeyFile, publicKeyPem);
        }
    }

    /// <summary>HS256, RS256 or ES256.</summary>
    public string Algorithm => _credentials.Algorithm;

    /// <summary>The HS256 secret, or null for a key pair.</summary>
    public string? Secret { get; }

    /// <summary>The public key in PEM (SubjectPublicKeyInfo), or null for a secret.</summary>
    public string? PublicKeyPem { get; }

    /// <summary>A temporary file holding <see cref="PublicKeyPem"/>, deleted on dispose.</summary>
    public string? PublicKeyFile { get; }

    /// <summary>The configuration that makes a server trust this factory's tokens.</summary>
    public IEnumerable<KeyValuePair<string, string?>> ServerSettings => Secret is not null
        ? [new("Switchboard:Auth:Jwt:Secret", Secret)]
        : [new("Switchboard:Auth:Jwt:PublicKeyFile", PublicKeyFile)];

    public static TokenFactory Hs256(string secret = DefaultSecret) =>
        new(new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(secret)), SecurityAlgorithms.HmacSha256), secret, null);

    /// <summary>RS256 with one of two RSA key pairs: <paramref name="key"/> 1 plays the attacker's key.</summary>
    public static TokenFactory Rs256(int key = 0)
    {
        var rsa = s_rsaKeys[key].Value;
        return new TokenFactory(new SigningCredentials(new RsaSecurityKey(rsa), SecurityAlgorithms.RsaSha256), null, rsa.ExportSubjectPublicKeyInfoPem());
    }

    /// <summary>ES256 (P-256) with one of two EC key pairs: <paramref name="key"/> 1 plays the attacker's key.</summary>
    public static TokenFactory Es256(int key = 0)
    {
        var ec = s_ecKeys[key].Value;
        return new TokenFactory(new SigningCredentials(new ECDsaSecurityKey(ec), SecurityAlgorithms.EcdsaSha256), null, ec.ExportSubjectPublicKeyInfoPem());
    }

    /// <summary>A properly signed token.</summary>
    public string Create(TokenClaims claims)
    {
        ArgumentNullException.ThrowIfNull(claims);
        return _handler.CreateToken(new SecurityTokenDescriptor
        {
            Claims = claims.ToPayload(),
            SigningCredentials = _credentials,
        });
    }

    /// <summary>A properly signed token for <paramref name="subject"/>, valid for an hour.</summary>
    public string Create(string subject = "alice") => Create(TokenClaims.For(subject));

    /// <summary>An unsecured JWT (<c>alg: none</c>, empty signature), as RFC 7519 section 6 allows and servers must refuse.</summary>
    public static string AlgNone(TokenClaims claims) =>
        Encode(new { alg = "none", typ = "JWT" }) + "." + Encode(claims.ToPayload()) + ".";

    /// <summary>
    /// The classic algorithm-confusion forgery: an HS256 token whose HMAC key is the server's public
    /// key PEM text, which a server that lets the token pick its algorithm would accept.
    /// </summary>
    public string HmacSignedWithThePublicKey(TokenClaims claims)
    {
        var pem = PublicKeyPem ?? throw new InvalidOperationException("only a key-pair factory has a public key");
        var signed = Encode(new { alg = "HS256", typ = "JWT" }) + "." + Encode(claims.ToPayload());
        var signature = HMACSHA256.HashData(Encoding.UTF8.GetBytes(pem), Encoding.ASCII.GetBytes(signed));
        return signed + "." + Base64UrlEncoder.Encode(signature);
    }

    /// <summary><paramref name="token"/> with its <c>sub</c> changed to <paramref name="subject"/> and its signature kept.</summary>
    public static string Tampered(string token, string subject)
    {
        ArgumentNullException.ThrowIfNull(token);
        var parts = token.Split('.');
        var payload = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(Base64UrlEncoder.DecodeBytes(parts[1]))!;
        payload["sub"] = JsonSerializer.SerializeToElement(subject);
        return parts[0] + "." + Encode(payload) + "." + parts[2];
    }

    public void Dispose()
    {
        if (PublicKeyFile is not null)
        {
            File.Delete(PublicKeyFile);
        }
    }

    private static string Encode<T>(T value) => Base64UrlEncoder.Encode(JsonSerializer.SerializeToUtf8Bytes(value));
}
