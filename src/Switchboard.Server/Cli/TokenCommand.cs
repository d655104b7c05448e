using System.CommandLine;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Switchboard.Options;
using Switchboard.Protocol;

namespace Switchboard.Server.Cli;

/// <summary>
/// <c>token</c>: mints a JWT for a user and rooms with the configured HS256 secret, for development and
/// for trying a deployment; production tokens come from the application's identity provider.
/// </summary>
internal static class TokenCommand
{
    public static Command Create()
    {
        var user = new Option<string>("--user") { Description = "The user id (the token's sub).", Required = true };
        var rooms = new Option<string[]>("--room") { Description = "A room the token grants (repeat for several); written to the configured rooms claim.", AllowMultipleArgumentsPerToken = true };
        var lifetime = new Option<int>("--lifetime") { Description = "Seconds until the token expires.", DefaultValueFactory = _ => 3600 };
        var command = new Command("token", "Mint a JWT for a user and rooms, signed with the configured Switchboard:Auth:Jwt:Secret. The token goes to standard output, a summary to standard error.")
        {
            user, rooms, lifetime,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(parse => Mint(parse.GetValue(user)!, parse.GetValue(rooms) ?? [], parse.GetValue(lifetime), [.. parse.UnmatchedTokens]));
        return command;
    }

    private static int Mint(string user, string[] rooms, int lifetimeSeconds, string[] hostArgs)
    {
        JwtOptions jwt;
        try
        {
            jwt = ServerHost.CreateBuilder(hostArgs).Build().Services.GetRequiredService<IOptions<SwitchboardOptions>>().Value.Auth.Jwt;
        }
        catch (Exception ex) when (ServerHost.ConfigurationError(ex) is { } message)
        {
            Console.Error.WriteLine("invalid configuration:\n  " + message);
            return ServerHost.InvalidConfiguration;
        }

        var refusal = string.IsNullOrEmpty(jwt.Secret)
            ? "no Switchboard:Auth:Jwt:Secret is configured" + (string.IsNullOrEmpty(jwt.PublicKeyFile) ? "" : " (this server verifies tokens with a public key: mint them with the private key's owner, your identity provider)")
            : !NameRules.IsValid(user) ? "--user must be 1-128 characters of A-Z a-z 0-9 _ - : . @ / = +"
            : Array.Find(rooms, room => !NameRules.IsValid(room)) is { } badRoom ? $"--room '{badRoom}' is not a valid room name"
            : lifetimeSeconds <= 0 ? "--lifetime must be a positive number of seconds"
            : null;
        if (refusal is not null)
        {
            Console.Error.WriteLine("cannot mint a token: " + refusal);
            return ServerHost.InvalidConfiguration;
        }

        var expires = DateTime.UtcNow.AddSeconds(lifetimeSeconds);
        var claims = new Dictionary<string, object> { ["sub"] = user };
        if (rooms.Length > 0)
        {
            claims[jwt.RoomsClaim] = rooms;
        }

        var token = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Claims = claims,
            Issuer = jwt.Issuer,
            Audience = jwt.Audience,
            Expires = expires,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(jwt.Secret!)), SecurityAlgorithms.HmacSha256),
        });
        Console.Out.WriteLine(token);
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"token for '{user}', rooms [{string.Join(", ", rooms)}], valid until {expires:u}"));
        return 0;
    }
}
