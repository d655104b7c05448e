using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;
using Switchboard.Options;

namespace Switchboard.Hosting;

/// <summary>
/// With <c>Switchboard:TrustedProxies</c> set, puts the framework's <see cref="ForwardedHeadersMiddleware"/>
/// first in the pipeline, so <c>HttpContext.Connection.RemoteIpAddress</c> is the client's address
/// before anything (the per-IP limit, the app's own logging) reads it. With the list empty nothing is
/// added: an app that configures forwarded headers itself keeps its own setup.
/// </summary>
internal sealed class ForwardedHeadersStartupFilter(IOptions<SwitchboardOptions> options) : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        if (options.Value.TrustedProxies.Count > 0)
        {
            app.UseForwardedHeaders(ForwardedFor(options.Value.TrustedProxies));
        }

        next(app);
    };

    /// <summary>
    /// Only <c>X-Forwarded-For</c>, only from the listed proxies (not the framework's default of
    /// loopback), read from the right through every trusted hop: a client's own made-up entries sit
    /// to the left of the address its first proxy appended, so they are never reached.
    /// </summary>
    internal static ForwardedHeadersOptions ForwardedFor(IEnumerable<string> trustedProxies)
    {
        var forwarded = new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedFor, ForwardLimit = null };
        forwarded.KnownProxies.Clear();
        forwarded.KnownIPNetworks.Clear();
        foreach (var proxy in trustedProxies)
        {
            if (System.Net.IPNetwork.TryParse(proxy, out var network))
            {
                forwarded.KnownIPNetworks.Add(network);
            }
            else
            {
                forwarded.KnownProxies.Add(IPAddress.Parse(proxy));
            }
        }

        return forwarded;
    }
}
