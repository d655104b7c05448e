using System.Diagnostics;
using System.Globalization;

namespace Switchboard.Load.Compare;

/// <summary>How the load tool talks to a peer: plain frames, or SignalR's JSON hub protocol.</summary>
internal enum PeerProtocol
{
    /// <summary>Membership by URL; every text frame a member sends goes to every member, the sender included.</summary>
    Plain,

    /// <summary>SignalR's JSON hub protocol over a raw WebSocket: a handshake, then <c>Send</c> invocations.</summary>
    SignalR,
}

/// <summary>
/// One server of the comparison: how to start it on a port, and the URL of a room on it. Every
/// peer is this repository's own small code under <c>bench/peers</c>, built by
/// <c>bench/peers/build.sh</c> (Switchboard itself by the solution build).
/// </summary>
internal sealed record PeerTarget(string Name, PeerProtocol Protocol, Func<string, int, ProcessStartInfo> StartInfo, Func<int, string, Uri> RoomUri)
{
    /// <summary>The reference every ratio is taken against.</summary>
    public const string Baseline = "go";

    public static readonly IReadOnlyList<string> AllNames = ["switchboard", "kestrel", "kestrel-conn", "signalr", "node", "go"];

    /// <summary>The named target; <paramref name="configuration"/> picks the .NET build output.</summary>
    public static PeerTarget Create(string name, string configuration) => name switch
    {
        "switchboard" => new(name, PeerProtocol.Plain, (repo, port) => Switchboard(repo, port, configuration), (port, room) => Ws(port, $"/rooms/{Uri.EscapeDataString(room)}")),
        "kestrel" => new(name, PeerProtocol.Plain, (repo, port) => DotnetPeer(repo, "KestrelPeer", port, configuration), PlainRoom),
        // Below HTTP: a ConnectionHandler on Kestrel's connection layer; it takes a port, not URLs.
        "kestrel-conn" => new(name, PeerProtocol.Plain, (repo, port) => Command("dotnet", PeerDll(repo, "KestrelConnPeer", configuration), "--port", Port(port)), PlainRoom),
        "signalr" => new(name, PeerProtocol.SignalR, (repo, port) => DotnetPeer(repo, "SignalRPeer", port, configuration), (port, room) => Ws(port, "/hub", room)),
        "node" => new(name, PeerProtocol.Plain, (repo, port) => Command("node", Path.Combine(repo, "bench", "peers", "node", "server.js"), Port(port)), PlainRoom),
        "go" => new(name, PeerProtocol.Plain, (repo, port) => Command(Path.Combine(repo, "bench", "peers", "go", "bin", "gohub"), "-addr", $"127.0.0.1:{Port(port)}"), PlainRoom),
        _ => throw new ArgumentException($"unknown target '{name}' (known: {string.Join(", ", AllNames)})", nameof(name)),
    };

    private static Uri PlainRoom(int port, string room) => Ws(port, "/ws", room);

    private static Uri Ws(int port, string path, string? room = null) =>
        new UriBuilder("ws", "127.0.0.1", port, path) { Query = room is null ? "" : $"room={Uri.EscapeDataString(room)}" }.Uri;

    private static string Port(int port) => port.ToString(CultureInfo.InvariantCulture);

    private static ProcessStartInfo Command(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return info;
    }

    private static ProcessStartInfo DotnetPeer(string repo, string project, int port, string configuration) =>
        Command("dotnet", PeerDll(repo, project, configuration), "--urls", $"http://127.0.0.1:{Port(port)}");

    private static string PeerDll(string repo, string project, string configuration) =>
        Path.Combine(repo, "bench", "peers", project, "bin", configuration, "net10.0", $"{project}.dll");

    private static ProcessStartInfo Switchboard(string repo, int port, string configuration)
    {
        var info = Command(
            "dotnet",
            Path.Combine(repo, "src", "Switchboard.Server", "bin", configuration, "net10.0", "Switchboard.Server.dll"),
            "--urls",
            $"http://127.0.0.1:{Port(port)}",
            "--environment",
            "Development");

        // The abuse limits are per address and per connection, and here one address is the whole
        // load: raised as in bench.sh, so the comparison measures the plain-room path, not the limits.
        foreach (var (key, value) in new[]
        {
            ("Auth__AllowAnonymous", "true"),
            ("Rooms__AllowAll", "true"),
            ("Limits__MaxConnectionsPerIp", "1000000"),
            ("Limits__MaxAnonymousConnectionsPerIp", "1000000"),
            ("Limits__MaxPlainRoomMembers", "1000000"),
            ("Limits__AcceptsPerSecond", "1000000"),
            ("Limits__AcceptsPerSecondPerIp", "1000000"),
            ("Limits__AcceptBurstPerIp", "1000000"),
            ("Limits__PublishesPerSecond", "1000000"),
            ("Limits__PublishBurst", "1000000"),
        })
        {
            info.Environment[$"Switchboard__{key}"] = value;
        }

        info.Environment["Logging__LogLevel__Default"] = "Warning";
        return info;
    }
}
