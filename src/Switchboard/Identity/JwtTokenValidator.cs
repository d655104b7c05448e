using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Switchboard.Options;
using Switchboard.Protocol;

namespace Switchboard.Identity;

/// <summary>
/// JWT validation with Microsoft.IdentityModel. Each node accepts exactly one algorithm, fixed by
/// its key (HS256 for a secret, RS256 for an RSA key, ES256 for an EC key), so <c>alg: none</c> and
/// HS/RS confusion are refused by construction. <c>exp</c> is required.
/// </summary>
internal sealed class JwtTokenValidator : ITokenValidator, IDisposable
{
    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };
    private readonly JwtOptions _options;
    private readonly AsymmetricAlgorithm? _publicKey;
    private readonly TokenValidationParameters? _parameters;

    public JwtTokenValidator(IOptions<SwitchboardOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value.Auth.Jwt;
        if (!_options.Enabled)
        {
            return;
        }

        SecurityKey key;
        string algorithm;
        if (!string.IsNullOrEmpty(_options.Secret))
        {
            key = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(_options.Secret));
            algorithm = SecurityAlgorithms.HmacSha256;
        }
        else
        {
            (key, algorithm, _publicKey) = LoadPublicKey(_options.PublicKeyFile!);
        }

        _parameters = new TokenValidationParameters
        {
            IssuerSigningKey = key,
            ValidAlgorithms = [algorithm],
            RequireSignedTokens = true,
            RequireExpirationTime = true,
            ValidateLifetime = true,
            ClockSkew = TimeSpan.FromSeconds(_options.ClockSkewSeconds),
            ValidateIssuer = _options.Issuer is not null,
            ValidIssuer = _options.Issuer,
            ValidateAudience = _options.Audience is not null,
            ValidAudience = _options.Audience,
            ValidateIssuerSigningKey = true,
        };
    }

    public bool Enabled => _parameters is not null;

    public async ValueTask<IdentityResult> ValidateAsync(string token)
    {
        if (_parameters is null)
        {
            return IdentityResult.Refuse(CloseCodes.Unauthorized, "this server accepts no tokens");
        }

        var result = await _handler.ValidateTokenAsync(token, _parameters).ConfigureAwait(false);
        if (!result.IsValid)
        {
            return result.Exception is SecurityTokenExpiredException
                ? IdentityResult.Refuse(CloseCodes.TokenExpired, "token expired")
                : IdentityResult.Refuse(CloseCodes.Unauthorized, "invalid token: " + Describe(result.Exception));
        }

        var claims = result.ClaimsIdentity.Claims;
        if (ClaimMapping.FindUser(claims, "sub") is not { ValueType: ClaimValueTypes.String, Value: var user } || !NameRules.IsValid(user))
        {
            return IdentityResult.Refuse(CloseCodes.Unauthorized, "invalid token: sub must be a user id of " + ClaimMapping.UserRule);
        }

        // The token stays acceptable until exp plus the clock skew; closing earlier would refuse, a
        // moment later, a token that validation has just accepted.
        var expires = result.SecurityToken.ValidTo + _parameters.ClockSkew;
        var granted = ClaimMapping.ReadRooms(claims, _options.RoomsClaim);
        return IdentityResult.Accept(new ConnectionIdentity(user, false, new DateTimeOffset(expires, TimeSpan.Zero), granted));
    }

    public void Dispose() => _publicKey?.Dispose();

    private static (SecurityKey Key, string Algorithm, AsymmetricAlgorithm Owned) LoadPublicKey(string path)
    {
        // The key type fixes the one algorithm accepted: EC P-256 means ES256, RSA means RS256.
        var pem = File.ReadAllText(path);
        var ec = ECDsa.Create();
        try
        {
            ec.ImportFromPem(pem);
            return (new ECDsaSecurityKey(ec), SecurityAlgorithms.EcdsaSha256, ec);
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            ec.Dispose();
        }

        var rsa = RSA.Create();
        rsa.ImportFromPem(pem);
        return (new RsaSecurityKey(rsa), SecurityAlgorithms.RsaSha256, rsa);
    }

    // Exception messages of IdentityModel can echo token contents; clients get a category only.
    private static string Describe(Exception? exception) => exception switch
    {
        SecurityTokenNotYetValidException => "not yet valid (nbf)",
        SecurityTokenInvalidAudienceException => "wrong audience",
        SecurityTokenInvalidIssuerException => "wrong issuer",
        SecurityTokenInvalidAlgorithmException => "algorithm not accepted",
        SecurityTokenSignatureKeyNotFoundException or SecurityTokenInvalidSignatureException => "bad signature",
        SecurityTokenNoExpirationException => "exp is required",
        SecurityTokenMalformedException or ArgumentException => "malformed",
        _ => "rejected",
    };
}
