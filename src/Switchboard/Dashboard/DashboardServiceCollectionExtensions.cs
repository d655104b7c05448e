using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Switchboard.Dashboard;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the dashboard's stats sampler.</summary>
public static class DashboardServiceCollectionExtensions
{
    /// <summary>
    /// Adds the sampler behind <c>/dashboard/stats</c> (map it with <c>MapSwitchboardDashboard()</c>).
    /// Call after <c>AddSwitchboard()</c> and after a broker that brings its own
    /// <see cref="INodeDirectory"/> (<c>AddSwitchboardRedis()</c>); otherwise the dashboard knows only this node.
    /// </summary>
    public static IServiceCollection AddSwitchboardDashboard(this IServiceCollection services)
    {
        services.TryAddSingleton<INodeDirectory, SingleNodeDirectory>();
        services.TryAddSingleton<DashboardStats>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, DashboardStats>(sp => sp.GetRequiredService<DashboardStats>()));
        return services;
    }
}
