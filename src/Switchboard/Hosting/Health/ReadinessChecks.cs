using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Switchboard.Connections;
using Switchboard.Hub;
using Switchboard.Options;

namespace Switchboard.Hosting.Health;

/// <summary>Not ready while the node drains: a load balancer must stop sending it new clients.</summary>
internal sealed class DrainHealthCheck(ShutdownState shutdown) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(shutdown.IsDraining ? HealthCheckResult.Unhealthy("draining") : HealthCheckResult.Healthy());
}

/// <summary>
/// Not ready while the broker cannot serve (Redis down or not yet subscribed). The public answer
/// names the broker only: the broker's own reason may carry internal addresses, so it goes to the
/// logs and the dashboard, not to anonymous probes.
/// </summary>
internal sealed class BrokerHealthCheck(SwitchboardHub hub, IOptions<SwitchboardOptions> options) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(hub.Unavailable is null
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy(options.Value.Broker + " unavailable"));
}
