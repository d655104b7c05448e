using System.Collections.Concurrent;
using System.Net;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Switchboard.Identity;
using Switchboard.Options;

namespace Switchboard.Connections;

/// <summary>
/// The checks a WebSocket upgrade passes before any per-connection state is built: origin
/// allow-list, the node's accept rate, connections per client IP, and later connections per user.
/// </summary>
internal sealed class Admission : IDisposable
{
    private readonly SwitchboardOptions _options;
    private readonly TokenBucketRateLimiter _accepts;
    private readonly HashSet<string> _allowedOrigins;
    private readonly ConcurrentDictionary<string, int> _perIp = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _perUser = new(StringComparer.Ordinal);

    public Admission(IOptions<SwitchboardOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        var rate = _options.Limits.AcceptsPerSecond;
        // Refilled in small steps (about ten a second, one token each below 10/s), so one second's burst
        // allowance comes back evenly rather than all at once; the step length keeps the rate exact.
        var tokens = Math.Max(1, rate / 10);
        var period = TimeSpan.FromSeconds((double)tokens / rate);
        _accepts = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = rate,
            TokensPerPeriod = tokens,
            ReplenishmentPeriod = period,
            AutoReplenishment = true,
            QueueLimit = 0,
        });
        _allowedOrigins = _options.AllowedOrigins.Select(NormalizeOrigin).ToHashSet(StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>
    /// Browsers send <c>Origin</c>; other clients do not and are allowed. A browser page may connect
    /// from the server's own origin, from a configured origin, or from localhost when allowed.
    /// </summary>
    public bool IsOriginAllowed(HttpContext context)
    {
        var origin = context.Request.Headers.Origin.ToString();
        if (origin.Length == 0 || _allowedOrigins.Contains("*"))
        {
            return true;
        }

        if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri))
        {
            return false;
        }

        return string.Equals(uri.Authority, context.Request.Host.Value, StringComparison.OrdinalIgnoreCase)
            || _allowedOrigins.Contains(NormalizeOrigin(origin))
            || (_options.AllowLocalhostOrigins && uri.IsLoopback);
    }

    /// <summary>Takes one token from the node-wide accept-rate bucket.</summary>
    public bool TryAcceptNow()
    {
        using var lease = _accepts.AttemptAcquire();
        return lease.IsAcquired;
    }

    /// <summary>
    /// The client's address. Behind proxies listed in <c>TrustedProxies</c>, the framework's
    /// forwarded-headers middleware has already put the client's own address here (see
    /// <c>ForwardedHeadersStartupFilter</c>); an IPv4 client reached over a dual-stack socket counts as
    /// its IPv4 address.
    /// </summary>
    public static string ClientIp(HttpContext context)
    {
        var peer = context.Connection.RemoteIpAddress ?? IPAddress.None;
        return (peer.IsIPv4MappedToIPv6 ? peer.MapToIPv4() : peer).ToString();
    }

    /// <summary>Counts a connection from <paramref name="ip"/>; false (and nothing counted) over the limit.</summary>
    public bool TryCountIp(string ip) => TryCount(_perIp, ip, _options.Limits.MaxConnectionsPerIp);

    /// <summary>Releases what <see cref="TryCountIp"/> counted.</summary>
    public void ReleaseIp(string ip) => Release(_perIp, ip);

    /// <summary>
    /// Counts <paramref name="connection"/> under the user of <paramref name="identity"/>, before the
    /// identity is given to the connection; false (and nothing counted) over the limit, so a refused
    /// connection never acts as that user.
    /// </summary>
    public bool TryCountUser(Connection connection, ConnectionIdentity identity)
    {
        if (!TryCount(_perUser, identity.User, _options.Limits.MaxConnectionsPerUser))
        {
            return false;
        }

        connection.CountedUser = identity.User;
        return true;
    }

    /// <summary>Releases whatever was counted for <paramref name="connection"/>.</summary>
    public void Release(Connection connection)
    {
        if (connection.CountedUser is { } user)
        {
            Release(_perUser, user);
            connection.CountedUser = null;
        }
    }

    public void Dispose() => _accepts.Dispose();

    private static bool TryCount(ConcurrentDictionary<string, int> counts, string key, int limit)
    {
        while (true)
        {
            var current = counts.GetValueOrDefault(key);
            if (current >= limit)
            {
                return false;
            }

            if (current == 0 ? counts.TryAdd(key, 1) : counts.TryUpdate(key, current + 1, current))
            {
                return true;
            }
        }
    }

    private static void Release(ConcurrentDictionary<string, int> counts, string key)
    {
        while (true)
        {
            var current = counts.GetValueOrDefault(key);
            if (current <= 1)
            {
                // Remove only if still 1, so the map holds no entry for clients that are gone.
                if (counts.TryRemove(new KeyValuePair<string, int>(key, 1)) || current == 0)
                {
                    return;
                }
            }
            else if (counts.TryUpdate(key, current - 1, current))
            {
                return;
            }
        }
    }

    private static string NormalizeOrigin(string origin) =>
        Uri.TryCreate(origin, UriKind.Absolute, out var uri) ? uri.GetLeftPart(UriPartial.Authority) : origin;
}
