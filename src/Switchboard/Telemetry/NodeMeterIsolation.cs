using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;

namespace Switchboard.Telemetry;

/// <summary>
/// Keeps a node's OpenTelemetry metrics to the node. OpenTelemetry (1.20) subscribes to meters by name
/// across the whole process and ignores <see cref="Meter.Scope"/>, so with several nodes in one process
/// (tests, in-process clusters) each node's <c>/metrics</c> would add up every node's <c>Switchboard</c>,
/// Kestrel and ASP.NET Core instruments. A view drops every instrument whose meter another service
/// provider's <see cref="IMeterFactory"/> created; process-wide meters (the runtime's, created without a
/// factory) are kept, as they describe the one process all nodes share.
/// </summary>
internal static class NodeMeterIsolation
{
    public static IServiceCollection ExportOnlyThisServiceProvidersMeters(this IServiceCollection serviceCollection) =>
        serviceCollection.ConfigureOpenTelemetryMeterProvider((services, metrics) =>
        {
            var own = services.GetRequiredService<IMeterFactory>();
            metrics.AddView(instrument =>
                instrument.Meter.Scope is IMeterFactory factory && !ReferenceEquals(factory, own) ? MetricStreamConfiguration.Drop : null);
        });
}
