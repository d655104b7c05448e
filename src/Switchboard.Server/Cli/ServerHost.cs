using Microsoft.Extensions.Options;

namespace Switchboard.Server.Cli;

/// <summary>
/// The shipped server: one place that wires Switchboard into a web application, so that running it and
/// checking its configuration see exactly the same settings and validation.
/// </summary>
internal static class ServerHost
{
    /// <summary>Exit code for an invalid configuration.</summary>
    public const int InvalidConfiguration = 2;

    /// <summary>Exit code when the server cannot start for another reason (typically the port is taken).</summary>
    public const int CannotStart = 3;

    /// <summary>
    /// The builder with Switchboard's services. <paramref name="hostArgs"/> are the host's own arguments
    /// (<c>--urls</c>, <c>--environment</c>, <c>--Switchboard:Broker redis</c>); settings files live beside
    /// the binary, wherever the server is started from.
    /// </summary>
    public static WebApplicationBuilder CreateBuilder(string[] hostArgs)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = hostArgs, ContentRootPath = AppContext.BaseDirectory });
        // Switchboard:Broker selects the in-memory broker (default) or Redis (see docs/scaling.md).
        builder.Services.AddSwitchboard().AddSwitchboardRedis().AddSwitchboardDashboard().AddSwitchboardKestrelLimits();
        // OpenTelemetry: /metrics in Prometheus text, and OTLP when Switchboard:Telemetry:Otlp:Endpoint or OTEL_EXPORTER_OTLP_ENDPOINT is set.
        builder.AddSwitchboardTelemetry();
        return builder;
    }

    /// <summary>Runs the server until it is stopped; returns the process exit code.</summary>
    public static async Task<int> RunAsync(string[] hostArgs)
    {
        try
        {
            // Options are bound and validated while building and starting: both belong inside the try.
            var app = CreateBuilder(hostArgs).Build();
            app.MapSwitchboard();
            app.MapSwitchboardDemo();       // "/": the demo chat
            app.MapSwitchboardDashboard();  // "/dashboard" and its stats stream (API key, as /api)
            await app.RunAsync().ConfigureAwait(false);
            return 0;
        }
        catch (Exception ex) when (ConfigurationError(ex) is { } message)
        {
            await Console.Error.WriteLineAsync("Switchboard cannot start, invalid configuration:\n  " + message).ConfigureAwait(false);
            return InvalidConfiguration;
        }
        catch (IOException ex)
        {
            // Typically the port is taken.
            await Console.Error.WriteLineAsync("Switchboard cannot start: " + ex.Message).ConfigureAwait(false);
            return CannotStart;
        }
    }

    /// <summary>
    /// What is wrong with the configuration, when <paramref name="ex"/> is a user's configuration error
    /// (a value out of range, or one that does not convert); null for anything else.
    /// </summary>
    public static string? ConfigurationError(Exception ex) => ex switch
    {
        OptionsValidationException invalid => string.Join("\n  ", invalid.Failures),
        InvalidOperationException { InnerException: FormatException or InvalidCastException } conversion => conversion.Message + " " + conversion.InnerException!.Message,
        InvalidOperationException other when other.Message.Contains("configuration", StringComparison.OrdinalIgnoreCase) => other.Message,
        _ => null,
    };
}
