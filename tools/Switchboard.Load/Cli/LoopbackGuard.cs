using System.Net;
using System.Net.Sockets;

namespace Switchboard.Load.Cli;

/// <summary>
/// The tool only ever sends load to this machine: the target host and every source address must be
/// in 127.0.0.0/8 or ::1. Checked once before a run and again for every socket.
/// </summary>
internal static class LoopbackGuard
{
    public static bool IsLoopback(IPAddress address) =>
        IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);

    private static bool IsLocalhostName(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase);

    /// <summary>Resolves <paramref name="url"/>'s host to a loopback address, or explains why not.</summary>
    public static async Task<(IPAddress? Address, string? Error)> ResolveTargetAsync(Uri url, CancellationToken cancellationToken)
    {
        if (url.Scheme is not ("ws" or "wss"))
        {
            return (null, $"--url must be a ws:// or wss:// URL (got '{url}')");
        }

        var isLiteral = IPAddress.TryParse(url.IdnHost, out var literal);
        if (!isLiteral && !IsLocalhostName(url.IdnHost))
        {
            // Not even a name lookup for anything but localhost: the tool never leaves the machine.
            return (null, $"refusing to load '{url.Host}': use an address in 127.0.0.0/8, [::1] or localhost");
        }

        IPAddress[] addresses;
        try
        {
            addresses = isLiteral ? [literal!] : await Dns.GetHostAddressesAsync(url.IdnHost, cancellationToken);
        }
        catch (SocketException ex)
        {
            return (null, $"cannot resolve '{url.Host}': {ex.Message}");
        }

        if (addresses.Length == 0 || !addresses.All(IsLoopback))
        {
            return (null, $"refusing to load '{url.Host}': only loopback targets (127.0.0.0/8, ::1) are allowed");
        }

        // Prefer IPv4: the source-address option and the ephemeral-port notes assume it.
        return (addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses[0], null);
    }
}
