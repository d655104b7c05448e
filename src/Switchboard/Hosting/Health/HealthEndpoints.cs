using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Switchboard.Options;

namespace Switchboard.Hosting.Health;

/// <summary>
/// <c>/healthz</c> (alive: the process serves requests) and <c>/readyz</c> (ready: the broker serves
/// and the node is not draining), through the framework's health checks, as Kubernetes probes them.
/// A draining node stays alive, so a liveness probe never kills it while it hands its clients over.
/// </summary>
internal static class HealthEndpoints
{
    /// <summary>The tag of the checks <c>/readyz</c> runs; an app may add its own checks with it.</summary>
    public const string ReadyTag = "switchboard-ready";

    public static void Map(IEndpointRouteBuilder endpoints, PathsOptions paths)
    {
        endpoints.MapHealthChecks(paths.Health, new HealthCheckOptions { Predicate = static _ => false, ResponseWriter = WriteAsync });
        endpoints.MapHealthChecks(paths.Ready, new HealthCheckOptions
        {
            Predicate = static check => check.Tags.Contains(ReadyTag),
            ResponseWriter = WriteAsync,
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status200OK,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
        });
    }

    /// <summary><c>{"status":"ok"}</c>, or the failing checks' descriptions: <c>{"status":"draining"}</c>, <c>{"status":"unavailable","reason":"redis unavailable"}</c>.</summary>
    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        var failing = report.Entries.Values.Where(e => e.Status == HealthStatus.Unhealthy).Select(e => e.Description ?? "unhealthy").ToArray();
        object body = failing.Length == 0
            ? new { status = "ok" }
            : failing.Contains("draining")
                ? new { status = "draining" }
                : new { status = "unavailable", reason = string.Join("; ", failing) };
        return context.Response.WriteAsync(JsonSerializer.Serialize(body));
    }
}
