using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Switchboard.Dashboard;
using Switchboard.Endpoints;
using Switchboard.Hosting;
using Switchboard.Options;

namespace Microsoft.AspNetCore.Builder;

/// <summary>
/// The browser pages that ship with Switchboard, each opted into by the host: the demo chat and the
/// operators' dashboard. <c>MapSwitchboard()</c> maps neither, so an app keeps its own <c>/</c>.
/// </summary>
public static class SwitchboardWebAppExtensions
{
    private const string Html = "text/html; charset=utf-8";
    private const string JavaScript = "text/javascript; charset=utf-8";
    private const string Css = "text/css; charset=utf-8";

    /// <summary>
    /// Maps the demo chat at <paramref name="path"/> (default <c>/</c>) and its script and style under
    /// <c>/demo/</c>. It connects to <c>/ws</c> as <c>?user=NAME</c>, so it works where
    /// <c>Auth:AllowQueryUser</c> is on (the development environment).
    /// </summary>
    public static IEndpointRouteBuilder MapSwitchboardDemo(this IEndpointRouteBuilder endpoints, string path = "/")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        // The page scales images to fit the node's message limit, so it is told the limit.
        var maxMessageBytes = endpoints.ServiceProvider.GetRequiredService<IOptions<SwitchboardOptions>>().Value.Limits.MaxMessageBytes;
        MapAsset(endpoints, path, "Switchboard.Demo.index.html", Html,
            html => html.Replace("{{MaxMessageBytes}}", maxMessageBytes.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal));
        MapAsset(endpoints, "/demo/demo.js", "Switchboard.Demo.demo.js", JavaScript);
        MapAsset(endpoints, "/demo/demo.css", "Switchboard.Demo.demo.css", Css);
        return endpoints;
    }

    /// <summary>
    /// Maps the dashboard at <c>/dashboard</c> and its stats stream at <c>/dashboard/stats</c>
    /// (server-sent events, one JSON snapshot a second, protected like the HTTP API: an
    /// <c>Api:Keys</c> key in <c>X-Api-Key</c> or <c>Authorization: Bearer</c>). Needs
    /// <c>AddSwitchboardDashboard()</c> on the services.
    /// </summary>
    public static IEndpointRouteBuilder MapSwitchboardDashboard(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (endpoints.ServiceProvider.GetService<DashboardStats>() is null)
        {
            throw new InvalidOperationException("MapSwitchboardDashboard() needs the dashboard's services: call AddSwitchboardDashboard() after AddSwitchboard().");
        }

        MapAsset(endpoints, "/dashboard", "Switchboard.Dashboard.index.html", Html);
        MapAsset(endpoints, "/dashboard/dashboard.js", "Switchboard.Dashboard.dashboard.js", JavaScript);
        MapAsset(endpoints, "/dashboard/dashboard.css", "Switchboard.Dashboard.dashboard.css", Css);
        endpoints.MapGet("/dashboard/stats", (DashboardStats stats, CancellationToken cancellationToken) =>
                TypedResults.ServerSentEvents(stats.WatchAsync(cancellationToken)))
            .AddEndpointFilter<ApiKeyFilter>();
        return endpoints;
    }

    private static void MapAsset(IEndpointRouteBuilder endpoints, string path, string resource, string contentType, Func<string, string>? transform = null)
    {
        // Loaded at mapping time: a missing resource is a build error to see at start-up, not a 500 later.
        var asset = EmbeddedAsset.Load(resource, contentType, transform);
        endpoints.MapGet(path, asset.Result);
    }
}
