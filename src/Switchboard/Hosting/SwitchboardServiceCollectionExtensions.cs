using Microsoft.Extensions.DependencyInjection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Switchboard.Brokers;
using Switchboard.Connections;
using Switchboard.Endpoints;
using Switchboard.Hosting;
using Switchboard.Hosting.Health;
using Switchboard.Hub;
using Switchboard.Identity;
using Switchboard.Metrics;
using Switchboard.Options;
using Switchboard.Transports;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Switchboard in an ASP.NET Core application.</summary>
public static class SwitchboardServiceCollectionExtensions
{
    /// <summary>
    /// Adds Switchboard's services, binding <see cref="SwitchboardOptions"/> from the <c>Switchboard</c>
    /// configuration section and validating them at start-up. <paramref name="configure"/> runs after binding.
    /// </summary>
    public static IServiceCollection AddSwitchboard(this IServiceCollection services, Action<SwitchboardOptions>? configure = null)
    {
        services.AddOptions<SwitchboardOptions>()
            .BindConfiguration(SwitchboardOptions.SectionName)
            .Configure(o => configure?.Invoke(o))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SwitchboardOptions>, SwitchboardOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SwitchboardOptions>, AppSchemeValidator>());
        // The host must outlast the drain, or it would cut connections off before their close frames go out.
        services.AddOptions<HostOptions>().Configure<IOptions<SwitchboardOptions>>((host, switchboard) =>
        {
            var needed = TimeSpan.FromSeconds(switchboard.Value.Shutdown.DrainSeconds + 5);
            if (host.ShutdownTimeout < needed)
            {
                host.ShutdownTimeout = needed;
            }
        });

        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ConnectionRegistry>();
        services.TryAddSingleton<ShutdownState>();
        services.TryAddSingleton<SwitchboardMetrics>();
        services.TryAddSingleton<MemoryBroker>();
        // Another broker replaces this registration (AddSwitchboardRedis); selecting one that nobody registered is a setup error, not a silent fallback.
        services.TryAddSingleton<IBroker>(sp => sp.GetRequiredService<IOptions<SwitchboardOptions>>().Value.Broker == "memory"
            ? sp.GetRequiredService<MemoryBroker>()
            : throw new InvalidOperationException($"Switchboard:Broker is '{sp.GetRequiredService<IOptions<SwitchboardOptions>>().Value.Broker}' but that broker is not registered: call AddSwitchboardRedis() after AddSwitchboard()."));
        services.TryAddSingleton<SwitchboardHub>();
        services.TryAddSingleton<PlainRooms>();
        services.TryAddSingleton<ITokenValidator, JwtTokenValidator>();
        services.TryAddSingleton<IConnectionIdentifier, DefaultConnectionIdentifier>();
        services.TryAddSingleton<RoomPolicy>();
        services.TryAddSingleton<Admission>();
        services.TryAddSingleton<ApiKeyFilter>();
        services.TryAddSingleton<SessionHost>();
        services.TryAddSingleton<AdmissionGate>();
        services.TryAddSingleton<WebSocketAcceptor>();
        services.TryAddSingleton<HttpStreamAcceptor>();
        services.TryAddSingleton<StreamSessions>();
        // One node: every session is here. A broker that spans nodes replaces it (AddSwitchboardRedis).
        services.TryAddSingleton<ISessionCommandRelay, SingleNodeRelay>();
        services.TryAddSingleton<ProtocolBehavior>();
        services.AddHealthChecks()
            .AddCheck<BrokerHealthCheck>("switchboard-broker", tags: [HealthEndpoints.ReadyTag])
            .AddCheck<DrainHealthCheck>("switchboard-drain", tags: [HealthEndpoints.ReadyTag]);
        services.TryAddEnumerable(ServiceDescriptor.Transient<IStartupFilter, ForwardedHeadersStartupFilter>());
        services.AddHostedService<ConnectionDrainer>();
        services.AddHostedService<HistorySweeper>();
        services.AddHostedService<StartupWarnings>();
        services.AddHostedService<ConnectionDeadlineWatcher>();
        return services;
    }

    /// <summary>
    /// Applies <c>Switchboard:Limits:HandshakeTimeoutSeconds</c> to Kestrel's request-headers and
    /// keep-alive timeouts: slowloris protection, since an upgrade request must then arrive whole within
    /// the handshake timeout, and a connection that never sends its first byte is bounded too. These are
    /// server-wide limits, so <see cref="AddSwitchboard"/> leaves them alone and an app opts in here
    /// (the shipped host does) or sets Kestrel's limits itself.
    /// </summary>
    public static IServiceCollection AddSwitchboardKestrelLimits(this IServiceCollection services)
    {
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<SwitchboardOptions>>((kestrel, switchboard) =>
        {
            var handshake = TimeSpan.FromSeconds(switchboard.Value.Limits.HandshakeTimeoutSeconds);
            kestrel.Limits.RequestHeadersTimeout = handshake;
            kestrel.Limits.KeepAliveTimeout = handshake;
        });
        return services;
    }
}
