using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Switchboard.Options;

namespace Switchboard.Hosting;

/// <summary>Says loudly at start-up when an insecure option is on.</summary>
internal sealed partial class StartupWarnings(IOptions<SwitchboardOptions> options, ILogger<StartupWarnings> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.Auth.AllowQueryUser)
        {
            QueryUserAllowed(logger);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(2001, LogLevel.Warning, "INSECURE: Switchboard:Auth:AllowQueryUser is on, so any client can claim any user id with ?user=. Use it for development only.")]
    private static partial void QueryUserAllowed(ILogger logger);
}
