using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Switchboard.Metrics;
using Switchboard.Telemetry;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Opt-in export of Switchboard's meters and spans with OpenTelemetry. <c>AddSwitchboard()</c> only
/// creates the instruments (meter <see cref="SwitchboardMetrics.MeterName"/>, source
/// <see cref="SwitchboardTracing.SourceName"/>), as ASP.NET Core and SignalR do: which exporters run is
/// the app's choice, and this is the choice the shipped host makes.
/// </summary>
public static class SwitchboardTelemetryExtensions
{
    /// <summary>
    /// Adds OpenTelemetry metrics (the Switchboard meter, ASP.NET Core and Kestrel, the .NET runtime)
    /// with a Prometheus exporter that <c>MapSwitchboard()</c> serves at <c>/metrics</c>. When
    /// <c>Switchboard:Telemetry:Otlp:Endpoint</c> or <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, metrics go
    /// over OTLP too, with tracing (the Switchboard source and ASP.NET Core requests); without an
    /// exporter for them no spans are recorded.
    /// </summary>
    /// <remarks>
    /// Reads the OTLP switch from <see cref="IHostApplicationBuilder.Configuration"/> now, so call it after
    /// adding configuration sources. Calling it twice adds nothing; an app's own
    /// <c>AddOpenTelemetry()</c> adds to the same providers (one per service collection).
    /// </remarks>
    public static IHostApplicationBuilder AddSwitchboardTelemetry(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        if (services.Any(d => d.ServiceType == typeof(SwitchboardTelemetryMarker)))
        {
            return builder;
        }

        services.AddSingleton<SwitchboardTelemetryMarker>();
        services.AddOptions<SwitchboardTelemetryOptions>()
            .BindConfiguration(SwitchboardTelemetryOptions.SectionName)
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SwitchboardTelemetryOptions>, SwitchboardTelemetryOptionsValidator>());

        var telemetry = services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                .AddMeter(SwitchboardMetrics.MeterName)
                .AddAspNetCoreInstrumentation()
                .AddRuntimeInstrumentation()
                // A scrape right after an event must show it (probes, tests); Prometheus scrapes seconds
                // apart, so the exporter's default 300 ms response cache would buy nothing.
                .AddPrometheusExporter(prometheus =>
                {
                    prometheus.ScrapeResponseCacheDurationMilliseconds = 0;
                    // Series keep the labels they had before OpenTelemetry (no otel_scope_name on each), so dashboards and alerts carry over.
                    prometheus.ScopeInfoEnabled = false;
                }));

        services.ExportOnlyThisServiceProvidersMeters();
        UseOtlpWhenConfigured(telemetry, builder.Configuration);
        return builder;
    }

    private static void UseOtlpWhenConfigured(OpenTelemetryBuilder telemetry, IConfiguration configuration)
    {
        var otlp = configuration.GetSection(SwitchboardTelemetryOptions.SectionName).Get<SwitchboardTelemetryOptions>()?.Otlp ?? new OtlpOptions();
        var standardEndpoint = configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        var endpoint = string.IsNullOrWhiteSpace(otlp.Endpoint) ? standardEndpoint : otlp.Endpoint;
        // The app set up OTLP itself (UseOtlpExporter registers this marker, and a second call throws): leave it be.
        if (string.IsNullOrWhiteSpace(endpoint))
        {
            return;
        }

        // Spans are recorded only when something exports them: without a trace exporter a listening
        // provider would sample every publication and delivery for nothing (and put trace context on
        // every Redis publication, which nodes older than tracing cannot read).
        telemetry.WithTracing(tracing => tracing
            .AddSource(SwitchboardTracing.SourceName)
            .AddAspNetCoreInstrumentation(aspNetCore => aspNetCore.Filter = context => !IsProbe(context.Request.Path)));
        if (telemetry.Services.Any(d => d.ServiceType.Name == "UseOtlpExporterRegistration"))
        {
            return;
        }

        if (string.IsNullOrWhiteSpace(otlp.Endpoint) && string.IsNullOrWhiteSpace(otlp.Protocol))
        {
            // Only the standard variables: the exporter reads them all itself (protocol, headers, timeouts).
            telemetry.UseOtlpExporter();
            return;
        }

        // A bad value switches nothing on here; the validator names it when the host starts.
        if (!SwitchboardTelemetryOptionsValidator.IsHttpUri(endpoint))
        {
            return;
        }

        var protocol = string.IsNullOrWhiteSpace(otlp.Protocol) ? configuration["OTEL_EXPORTER_OTLP_PROTOCOL"] : otlp.Protocol;
        // The base endpoint: with http/protobuf the exporter appends /v1/traces, /v1/metrics and /v1/logs.
        telemetry.UseOtlpExporter(protocol == OtlpOptions.HttpProtobuf ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc, new Uri(endpoint));
    }

    /// <summary>Whether <c>AddSwitchboardTelemetry()</c> was called, so that <c>/metrics</c> has an exporter to serve.</summary>
    internal static bool IsAdded(IServiceProvider services) => services.GetService<SwitchboardTelemetryMarker>() is not null;

    // Scrapes and probes arrive every few seconds from every monitor: spans for them would drown the traces that matter.
    private static bool IsProbe(PathString path) =>
        path.StartsWithSegments("/metrics") || path.StartsWithSegments("/healthz") || path.StartsWithSegments("/readyz");

    /// <summary>Marks the service collection as set up, so a second call adds nothing.</summary>
    private sealed class SwitchboardTelemetryMarker;
}
