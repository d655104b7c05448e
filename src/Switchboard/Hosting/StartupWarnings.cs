using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Switchboard.Options;

namespace Switchboard.Hosting;

/// <summary>Says loudly at start-up when an insecure option is on.</summary>
internal sealed partial class StartupWarnings(IOptions<SwitchboardOptions> options, IServiceProvider services, ILogger<StartupWarnings> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (settings.Auth.AllowQueryUser)
        {
            QueryUserAllowed(logger);
        }

        if (settings.Auth.AllowAnonymous)
        {
            AnonymousAllowed(logger);
        }

        if (settings.Api.AllowWithoutKey)
        {
            ApiOpen(logger);
        }

        if (settings.Rooms.AllowAll)
        {
            RoomsOpen(logger);
        }
        else if (settings.Rooms.Rules.Count == 0)
        {
            NoRoomRules(logger, settings.Rooms.PersonalPrefix);
        }

        var appSignIn = settings.Auth.App.Enabled && services.GetService<IAuthenticationSchemeProvider>() is not null;
        if (!settings.Auth.Jwt.Enabled && !settings.Auth.AllowAnonymous && !settings.Auth.AllowQueryUser && !appSignIn)
        {
            NoIdentitySource(logger);
        }

        var jwt = settings.Auth.Jwt;
        if (!string.IsNullOrEmpty(jwt.PublicKeyFile) && (jwt.Issuer is null || jwt.Audience is null))
        {
            UnboundPublicKey(logger);
        }

        return Task.CompletedTask;
    }

    // A public key usually belongs to an identity provider that signs tokens for many services: without
    // Issuer and Audience, a token it minted for any of them is accepted here.
    [LoggerMessage(2005, LogLevel.Warning, "Switchboard:Auth:Jwt:PublicKeyFile is set without both Issuer and Audience: any token its key signed, for any service, is accepted. Set Switchboard:Auth:Jwt:Issuer and Audience.")]
    private static partial void UnboundPublicKey(ILogger logger);

    [LoggerMessage(2002, LogLevel.Warning, "Switchboard:Auth:AllowAnonymous is on: connections without a token are accepted as anonymous users.")]
    private static partial void AnonymousAllowed(ILogger logger);

    [LoggerMessage(2003, LogLevel.Warning, "INSECURE: Switchboard:Api:AllowWithoutKey is on, so anyone who reaches /api can publish. Use it for development only.")]
    private static partial void ApiOpen(ILogger logger);

    [LoggerMessage(2004, LogLevel.Warning, "No identity source is configured (no Switchboard:Auth:Jwt key, no app authentication, anonymous and ?user= off): every WebSocket connection will be refused.")]
    private static partial void NoIdentitySource(ILogger logger);

    [LoggerMessage(2010, LogLevel.Warning, "INSECURE: Switchboard:Rooms:AllowAll is on, so any connection may join, read and see the members of any room no rule covers. Use it for development only, or write Switchboard:Rooms:Rules.")]
    private static partial void RoomsOpen(ILogger logger);

    [LoggerMessage(2011, LogLevel.Information, "No Switchboard:Rooms:Rules are configured: connections may join only their personal room ({PersonalPrefix}USER) and the rooms their token grants, without presence or history. Write rules to open rooms.")]
    private static partial void NoRoomRules(ILogger logger, string personalPrefix);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(2001, LogLevel.Warning, "INSECURE: Switchboard:Auth:AllowQueryUser is on, so any client can claim any user id with ?user=. Use it for development only.")]
    private static partial void QueryUserAllowed(ILogger logger);
}
