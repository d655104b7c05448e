using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Xunit;

namespace Switchboard.Tests.Hosting;

/// <summary>Adding Switchboard to an app changes none of the app's server-wide settings unless asked to.</summary>
[Trait("Category", "unit")]
public sealed class LibraryMannersTests
{
    [Fact]
    public void AddSwitchboardLeavesKestrelsServerWideTimeoutsAlone()
    {
        using var services = Build(s => s.AddSwitchboard());
        var limits = services.GetRequiredService<IOptions<KestrelServerOptions>>().Value.Limits;
        var defaults = new KestrelServerOptions().Limits;

        Assert.Equal(defaults.RequestHeadersTimeout, limits.RequestHeadersTimeout);
        Assert.Equal(defaults.KeepAliveTimeout, limits.KeepAliveTimeout);
    }

    [Fact]
    public void TheKestrelLimitsAreAppliedWhenTheAppOptsIn()
    {
        using var services = Build(s => s.AddSwitchboard().AddSwitchboardKestrelLimits(), new() { ["Switchboard:Limits:HandshakeTimeoutSeconds"] = "7" });
        var limits = services.GetRequiredService<IOptions<KestrelServerOptions>>().Value.Limits;

        Assert.Equal(TimeSpan.FromSeconds(7), limits.RequestHeadersTimeout);
        Assert.Equal(TimeSpan.FromSeconds(7), limits.KeepAliveTimeout);
    }

    private static ServiceProvider Build(Action<IServiceCollection> configure, Dictionary<string, string?>? settings = null)
    {
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(settings ?? []).Build())
            .AddLogging();
        configure(services);
        return services.BuildServiceProvider();
    }
}
