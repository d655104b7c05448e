using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Brokers;
using Switchboard.Connections;
using Switchboard.Endpoints;
using Switchboard.Hosting.Health;
using Switchboard.Hub;
using Switchboard.Identity;
using Switchboard.Options;
using Switchboard.Transports;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Hosting;
using Switchboard.Metrics;
using OpenTelemetry.Metrics;
using Switchboard.Protocol;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps Switchboard's endpoints.</summary>
public static class SwitchboardEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <c>/ws</c>, <c>/rooms/{room}</c>, <c>/echo</c>, the protocol's HTTP streams (<c>/events</c>
    /// as server-sent events, <c>/stream</c> as newline-delimited JSON, commands posted to
    /// <c>/events/{session}</c>), the HTTP API (<c>/api/*</c>) and the JS client
    /// (<c>/switchboard.js</c>) under <paramref name="prefix"/>, and the probes <c>/healthz</c> (alive),
    /// <c>/readyz</c> (ready) and, when <c>AddSwitchboardTelemetry()</c> was called, <c>/metrics</c>
    /// (Prometheus text from OpenTelemetry) at the root; each path is an option (<c>Switchboard:Paths</c>),
    /// these are the defaults. <c>/</c> stays the hosting app's own (the
    /// shipped host maps the demo there with <c>MapSwitchboardDemo()</c>). On a
    /// <see cref="WebApplication"/> this also adds the WebSocket middleware; other hosts must call
    /// <c>UseWebSockets()</c> before routing.
    /// </summary>
    /// <returns>
    /// The group of Switchboard's client-facing endpoints, so the app's conventions apply to them as to
    /// any endpoint: <c>.RequireAuthorization(...)</c>, <c>.RequireCors(...)</c>, rate-limiting
    /// policies. The probes stay outside it, so that no policy locks out a load balancer.
    /// </returns>
    public static RouteGroupBuilder MapSwitchboard(this IEndpointRouteBuilder endpoints, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(prefix);
        if (endpoints is IApplicationBuilder app)
        {
            app.UseWebSockets();
        }

        if (SwitchboardTelemetryExtensions.IsAdded(endpoints.ServiceProvider))
        {
            // The provider must listen before the instruments below are created: their zero starting values would be lost otherwise.
            _ = endpoints.ServiceProvider.GetRequiredService<MeterProvider>();
        }

        // Built now rather than on first use, so metrics count from the first request.
        _ = endpoints.ServiceProvider.GetRequiredService<SwitchboardHub>();
        _ = endpoints.ServiceProvider.GetRequiredService<ConnectionRegistry>();
        // Posts that other nodes forward go to this node's streams, like the ones POSTed here.
        endpoints.ServiceProvider.GetRequiredService<ISessionCommandRelay>().Attach(endpoints.ServiceProvider.GetRequiredService<StreamSessions>());

        var paths = endpoints.ServiceProvider.GetRequiredService<IOptions<SwitchboardOptions>>().Value.Paths;
        var group = endpoints.MapGroup(prefix);
        // The WebSocket endpoints' services are singletons, taken here once: a delegate that asked for
        // them per request would open the request's service scope, which a WebSocket request keeps (its
        // resolved-services dictionary with it) for the connection's whole life.
        var services = endpoints.ServiceProvider;
        var webSockets = services.GetRequiredService<WebSocketAcceptor>();
        var protocol = services.GetRequiredService<ProtocolBehavior>();
        var plainRooms = services.GetRequiredService<PlainRooms>();
        var policy = services.GetRequiredService<RoomPolicy>();
        var metrics = services.GetRequiredService<SwitchboardMetrics>();
        var options = services.GetRequiredService<IOptions<SwitchboardOptions>>();
        group.Map(paths.WebSocket, (HttpContext context) => webSockets.RunAsync(context, protocol));
        group.Map(paths.Rooms, (HttpContext context, string room) =>
            NameRules.IsValid(room)
                ? webSockets.RunAsync(context, new PlainRoomBehavior(plainRooms, room, policy, metrics, options.Value.Limits))
                : Results.BadRequest("room must be 1-128 characters of A-Z a-z 0-9 _ - : . @ / = +\n").ExecuteAsync(context));
        group.Map(paths.Echo, (HttpContext context) => webSockets.RunAsync(context, new EchoBehavior(metrics, options.Value.Limits)));
        group.MapGet(paths.Events, (HttpContext context, HttpStreamAcceptor acceptor, ProtocolBehavior behavior) =>
            acceptor.RunAsync(context, behavior, ServerSentEventsFraming.Instance)).WithStreamCors();
        group.MapMethods(paths.Stream, [HttpMethods.Get, HttpMethods.Post], (HttpContext context, HttpStreamAcceptor acceptor, ProtocolBehavior behavior) =>
            acceptor.RunAsync(context, behavior, NdjsonFraming.Instance)).WithStreamCors();
        group.MapPost(paths.EventCommands, StreamCommandEndpoint.PostAsync).WithStreamCors();
        group.MapMethods(paths.Events, [HttpMethods.Options], StreamCors.Preflight);
        group.MapMethods(paths.Stream, [HttpMethods.Options], StreamCors.Preflight);
        group.MapMethods(paths.EventCommands, [HttpMethods.Options], StreamCors.Preflight);
        ApiEndpoints.Map(group, paths.Api);
        ClientScriptEndpoints.Map(group, paths);
        HealthEndpoints.Map(endpoints, paths);
        if (SwitchboardTelemetryExtensions.IsAdded(endpoints.ServiceProvider))
        {
            // Without AddSwitchboardTelemetry() there is no exporter to serve: the app exports the meter its own way.
            endpoints.MapPrometheusScrapingEndpoint(paths.Metrics);
        }

        return group;
    }
}
