using Switchboard.Options;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Hosting;

/// <summary>
/// Every endpoint's path is an option (<c>Switchboard:Paths</c>): the defaults are the paths
/// Switchboard always had, a changed path moves the endpoint, and a path routing cannot honour stops
/// the start naming the key.
/// </summary>
[Trait("Category", "unit")]
public sealed class EndpointPathsTests
{
    [Fact]
    public void TheDefaultsAreThePathsSwitchboardAlwaysHad()
    {
        var paths = new PathsOptions();

        Assert.Equal(
            ["/ws", "/rooms/{room}", "/echo", "/api", "/switchboard.js", "/switchboard.d.ts", "/healthz", "/readyz", "/metrics"],
            [paths.WebSocket, paths.Rooms, paths.Echo, paths.Api, paths.ClientScript, paths.ClientTypes, paths.Health, paths.Ready, paths.Metrics]);
        Assert.True(new SwitchboardOptionsValidator().Validate(null, new SwitchboardOptions()).Succeeded);
    }

    public static TheoryData<Action<PathsOptions>, string> BadPaths() => new()
    {
        { p => p.WebSocket = "ws", "Switchboard:Paths:WebSocket must be a route path starting with '/'" },
        { p => p.Echo = "/", "Switchboard:Paths:Echo must be a route path" },
        { p => p.Api = "", "Switchboard:Paths:Api must be a route path" },
        { p => p.Health = "/health?x=1", "Switchboard:Paths:Health must be a route path" },
        { p => p.ClientScript = "/{broken", "Switchboard:Paths:ClientScript must be a route path" },
        { p => p.Rooms = "/rooms", "Switchboard:Paths:Rooms must have the one route parameter {room}" },
        { p => p.WebSocket = "/ws/{tenant}", "Switchboard:Paths:WebSocket must have no route parameters" },
        { p => p.Echo = "/WS/", "Switchboard:Paths:WebSocket, Paths:Echo must differ" },
        { p => p.Metrics = "/healthz", "Switchboard:Paths:Health, Paths:Metrics must differ" },
    };

    [Theory]
    [MemberData(nameof(BadPaths))]
    public void APathRoutingCannotHonourIsRefusedNamingItsKey(Action<PathsOptions> change, string expected)
    {
        var options = new SwitchboardOptions();
        change(options.Paths);

        var result = new SwitchboardOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.StartsWith(expected, StringComparison.Ordinal));
    }
}
