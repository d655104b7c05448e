using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Switchboard.Brokers;
using Switchboard.Dashboard;
using Switchboard.Options;
using Switchboard.Redis;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Redis broker.</summary>
public static class RedisServiceCollectionExtensions
{
    /// <summary>The value of <c>Switchboard:Broker</c> that selects the Redis broker.</summary>
    public const string BrokerName = "redis";

    /// <summary>
    /// Makes the Redis broker available, selected by configuration: with <c>Switchboard:Broker</c> =
    /// <c>redis</c> the node uses Redis at <c>Switchboard:Redis:Configuration</c>; otherwise the
    /// in-memory broker as before. Call after <c>AddSwitchboard()</c>.
    /// </summary>
    public static IServiceCollection AddSwitchboardRedis(this IServiceCollection services)
    {
        services.AddOptions<RedisBrokerOptions>().BindConfiguration(RedisBrokerOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RedisBrokerOptions>, RedisBrokerOptionsValidator>());
        services.TryAddSingleton<RedisBroker>();
        services.TryAddSingleton<MemoryBroker>();
        services.Replace(ServiceDescriptor.Singleton<IBroker>(sp => sp.GetRequiredService<IOptions<SwitchboardOptions>>().Value.Broker == BrokerName
            ? sp.GetRequiredService<RedisBroker>()
            : sp.GetRequiredService<MemoryBroker>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, RedisBrokerService>());
        // POSTs of a stream's commands that reach another node are forwarded to the stream's node through Redis.
        services.TryAddSingleton<RedisSessionRelay>();
        services.TryAddSingleton<SingleNodeRelay>();
        services.Replace(ServiceDescriptor.Singleton<ISessionCommandRelay>(sp => sp.GetRequiredService<IOptions<SwitchboardOptions>>().Value.Broker == BrokerName
            ? sp.GetRequiredService<RedisSessionRelay>()
            : sp.GetRequiredService<SingleNodeRelay>()));
        // The dashboard (AddSwitchboardDashboard) lists every node sharing the Redis.
        services.TryAddSingleton<INodeDirectory>(sp => sp.GetRequiredService<IOptions<SwitchboardOptions>>().Value.Broker == BrokerName
            ? ActivatorUtilities.CreateInstance<RedisNodeDirectory>(sp)
            : new SingleNodeDirectory());
        return services;
    }
}
