using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Switchboard.Identity;
using Switchboard.Options;

namespace Switchboard.Connections;

/// <summary>
/// The checks a WebSocket upgrade passes before any per-connection state is built: origin
/// allow-list, the client address's own accept rate and connection count, then the node's accept
/// rate (so that one address refused for itself spends nothing of everyone's), and later connections
/// per user or, for anonymous users, per address.
/// </summary>
internal sealed class Admission : IDisposable
{
    private readonly SwitchboardOptions _options;
    private readonly TokenBucketRateLimiter _accepts;
    private readonly PartitionedRateLimiter<string> _acceptsPerAddress;
    private readonly HashSet<string> _allowedOrigins;
    private readonly string? _publicOrigin;
    private readonly ConcurrentDictionary<string, int> _perIp = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _perUser = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _anonymousPerIp = new(StringComparer.Ordinal);

    public Admission(IOptions<SwitchboardOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        var limits = _options.Limits;
        _accepts = new TokenBucketRateLimiter(Bucket(limits.AcceptsPerSecond, limits.AcceptsPerSecond));
        // One bucket per address, created on its first upgrade; the framework drops buckets left idle.
        _acceptsPerAddress = PartitionedRateLimiter.Create<string, string>(address =>
            RateLimitPartition.GetTokenBucketLimiter(address, _ => Bucket(limits.AcceptsPerSecondPerIp, limits.AcceptBurstPerIp)));
        _allowedOrigins = _options.AllowedOrigins.Select(NormalizeOrigin).ToHashSet(StringComparer.OrdinalIgnoreCase);
        _publicOrigin = string.IsNullOrEmpty(_options.PublicOrigin) ? null : NormalizeOrigin(_options.PublicOrigin);
    }

    /// <summary>
    /// Browsers send <c>Origin</c>; other clients do not and are allowed. A browser page may connect
    /// from the server's own origin (<c>PublicOrigin</c>, or else the request's <c>Host</c>), from a
    /// configured origin, or from localhost when allowed.
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

        // The server's own origin: the configured public one, or else the one the request names in Host.
        // Host is the client's to write, so a DNS-rebinding page (evil.example resolving to this server)
        // matches it; a configured PublicOrigin cannot be matched that way.
        var sameOrigin = _publicOrigin is not null
            ? string.Equals(NormalizeOrigin(origin), _publicOrigin, StringComparison.OrdinalIgnoreCase)
            : string.Equals(uri.Authority, context.Request.Host.Value, StringComparison.OrdinalIgnoreCase);
        return sameOrigin
            || _allowedOrigins.Contains(NormalizeOrigin(origin))
            || (_options.AllowLocalhostOrigins && uri.IsLoopback);
    }

    /// <summary>Takes one token from the node-wide accept-rate bucket.</summary>
    public bool TryAcceptNow()
    {
        using var lease = _accepts.AttemptAcquire();
        return lease.IsAcquired;
    }

    /// <summary>Takes one token from the accept-rate bucket of <paramref name="address"/>.</summary>
    public bool TryAcceptFrom(string address)
    {
        using var lease = _acceptsPerAddress.AttemptAcquire(address);
        return lease.IsAcquired;
    }

    /// <summary>
    /// The client's address as the limits count it. Behind proxies listed in <c>TrustedProxies</c>, the
    /// framework's forwarded-headers middleware has already put the client's own address here (see
    /// <c>ForwardedHeadersStartupFilter</c>). An IPv4 client reached over a dual-stack socket counts as
    /// its IPv4 address; an IPv6 client counts as its /64, the block one subscriber is given, so
    /// hopping between the addresses of one's own block gains nothing.
    /// </summary>
    public static string ClientAddress(HttpContext context)
    {
        var peer = context.Connection.RemoteIpAddress ?? IPAddress.None;
        if (peer.IsIPv4MappedToIPv6)
        {
            return peer.MapToIPv4().ToString();
        }

        return peer.AddressFamily == AddressFamily.InterNetworkV6 && !IPAddress.IsLoopback(peer)
            ? new IPNetwork(peer, 64).BaseAddress.ToString() + "/64"
            : peer.ToString();
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

    /// <summary>Counts an anonymous connection from <paramref name="ip"/>; false (and nothing counted) over the limit.</summary>
    public bool TryCountAnonymous(string ip) => TryCount(_anonymousPerIp, ip, _options.Limits.MaxAnonymousConnectionsPerIp);

    /// <summary>Releases what <see cref="TryCountAnonymous"/> counted.</summary>
    public void ReleaseAnonymous(string ip) => Release(_anonymousPerIp, ip);

    /// <summary>Releases whatever was counted for <paramref name="connection"/>.</summary>
    public void Release(Connection connection)
    {
        if (connection.CountedUser is { } user)
        {
            Release(_perUser, user);
            connection.CountedUser = null;
        }
    }

    public void Dispose()
    {
        _accepts.Dispose();
        _acceptsPerAddress.Dispose();
    }

    /// <summary>
    /// A token bucket of <paramref name="burst"/> tokens refilled at <paramref name="perSecond"/>, in
    /// small steps (about ten a second, at least one token each), so a second's allowance comes back
    /// evenly rather than all at once; the step length keeps the rate exact.
    /// </summary>
    private static TokenBucketRateLimiterOptions Bucket(double perSecond, int burst)
    {
        var tokens = Math.Max(1, (int)(perSecond / 10));
        return new TokenBucketRateLimiterOptions
        {
            TokenLimit = burst,
            TokensPerPeriod = tokens,
            ReplenishmentPeriod = TimeSpan.FromSeconds(tokens / perSecond),
            AutoReplenishment = true,
            QueueLimit = 0,
        };
    }

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
