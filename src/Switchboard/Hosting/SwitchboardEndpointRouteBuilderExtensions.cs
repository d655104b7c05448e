using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Connections;
using Switchboard.Endpoints;
using Switchboard.Hosting.Health;
using Switchboard.Hub;
using Switchboard.Identity;
using Switchboard.Options;
using Switchboard.Transports;
using Microsoft.Extensions.Options;
using Switchboard.Metrics;
using Switchboard.Protocol;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps Switchboard's endpoints.</summary>
public static class SwitchboardEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <c>/ws</c>, <c>/rooms/{room}</c>, <c>/echo</c>, the HTTP API, <c>/healthz</c> (alive),
    /// <c>/readyz</c> (ready) and <c>/metrics</c>.
    /// <c>/</c> stays the hosting app's own (the shipped host maps the demo there with
    /// <c>MapSwitchboardDemo()</c>). On a <see cref="WebApplication"/> this also adds the WebSocket
    /// middleware; other hosts must call <c>UseWebSockets()</c> before routing.
    /// </summary>
    public static IEndpointRouteBuilder MapSwitchboard(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (endpoints is IApplicationBuilder app)
        {
            app.UseWebSockets();
        }

        // Built now rather than on first use, so metrics count from the first request.
        _ = endpoints.ServiceProvider.GetRequiredService<SwitchboardHub>();
        _ = endpoints.ServiceProvider.GetRequiredService<ConnectionRegistry>();

        endpoints.Map("/ws", (HttpContext context, WebSocketAcceptor runner, ProtocolBehavior behavior) => runner.RunAsync(context, behavior));
        endpoints.Map("/rooms/{room}", (HttpContext context, string room, WebSocketAcceptor runner, PlainRooms rooms, RoomPolicy policy, SwitchboardMetrics metrics, IOptions<SwitchboardOptions> options) =>
            NameRules.IsValid(room)
                ? runner.RunAsync(context, new PlainRoomBehavior(rooms, room, policy, metrics, options.Value.Limits))
                : Results.BadRequest("room must be 1-128 characters of A-Z a-z 0-9 _ - : . @ / = +\n").ExecuteAsync(context));
        endpoints.Map("/echo", (HttpContext context, WebSocketAcceptor runner, SwitchboardMetrics metrics, IOptions<SwitchboardOptions> options) =>
            runner.RunAsync(context, new EchoBehavior(metrics, options.Value.Limits)));
        ApiEndpoints.Map(endpoints);
        HealthEndpoints.Map(endpoints);
        ClientScriptEndpoints.Map(endpoints);
        return endpoints;
    }
}
