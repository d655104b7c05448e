using Microsoft.Extensions.Options;

// The host only builds and starts the library; everything Switchboard does lives in src/Switchboard.
// Settings files live beside the binary, wherever the server is started from.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
// Switchboard:Broker selects the in-memory broker (default) or Redis (see docs/scaling.md).
builder.Services.AddSwitchboard().AddSwitchboardRedis().AddSwitchboardDashboard().AddSwitchboardKestrelLimits();
// OpenTelemetry: /metrics in Prometheus text, and OTLP when Switchboard:Telemetry:Otlp:Endpoint or OTEL_EXPORTER_OTLP_ENDPOINT is set.
builder.AddSwitchboardTelemetry();

try
{
    // Options are bound and validated while building and starting: both belong inside the try.
    var app = builder.Build();
    app.MapSwitchboard();
    app.MapSwitchboardDemo();       // "/": the demo chat
    app.MapSwitchboardDashboard();  // "/dashboard" and its stats stream (API key, as /api)
    await app.RunAsync();
    return 0;
}
catch (OptionsValidationException ex)
{
    // A bad configuration value is a user error: say which, without a stack trace.
    await Console.Error.WriteLineAsync("Switchboard cannot start, invalid configuration:\n  " + string.Join("\n  ", ex.Failures));
    return 2;
}
catch (InvalidOperationException ex) when (ex.InnerException is FormatException or InvalidCastException || ex.Message.Contains("configuration", StringComparison.OrdinalIgnoreCase))
{
    await Console.Error.WriteLineAsync("Switchboard cannot start, invalid configuration: " + ex.Message + (ex.InnerException is null ? "" : " " + ex.InnerException.Message));
    return 2;
}
catch (IOException ex)
{
    // Typically the port is taken.
    await Console.Error.WriteLineAsync("Switchboard cannot start: " + ex.Message);
    return 3;
}
