using System.Net;
using System.Net.Sockets;

namespace Switchboard.Tests.Infrastructure;

/// <summary>Free TCP ports on 127.0.0.1 for the processes the tests start (redis-server, nginx).</summary>
public static class FreePorts
{
    /// <summary>A port free at the moment of asking; the caller checks that its own process got it.</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
