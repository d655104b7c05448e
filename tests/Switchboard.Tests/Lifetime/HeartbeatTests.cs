using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Lifetime;

/// <summary>
/// The server pings every 0.2 s and gives a peer 0.5 s to answer. A peer that never answers is
/// removed with everything it held; a client that answers (as <c>ClientWebSocket</c> does on its
/// own while it reads) stays.
/// </summary>
[Collection(TimingSensitive.Name)]
[Trait("Category", "integration")]
public sealed class HeartbeatTests : IAsyncLifetime
{
    private const string Room = "pulse";

    // Generous against a 0.2 s interval and 0.5 s timeout: only a missing heartbeat check exceeds it.
    private static readonly TimeSpan RemovalDeadline = TimeSpan.FromSeconds(10);

    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync(new Dictionary<string, string?>
    {
        ["Switchboard:Heartbeat:IntervalSeconds"] = "0.2",
        ["Switchboard:Heartbeat:TimeoutSeconds"] = "0.5",
    });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task PeerThatNeverAnswersPingsIsRemovedAndItsMembershipIsGone()
    {
        await using var watcher = await JoinedClientAsync("watcher");
        using var silent = await JoinedRawPeerAsync("silent");
        Assert.Equal(["silent", "watcher"], await _server.PresentUsersAsync(Room));

        await Eventually.TrueAsync(() => _server.Registry.Count == 1, "the silent peer has been removed", RemovalDeadline);

        Assert.Equal(["watcher"], await _server.PresentUsersAsync(Room));
        Assert.Equal(1, _server.Hub.UserCount);
        var left = await watcher.ExpectAsync("left");
        Assert.Equal("silent", left.GetProperty("user").GetString());
        Assert.True(await silent.ReadUntilDisconnectedAsync(), "the server dropped the silent peer's TCP connection");
    }

    [Fact]
    public async Task ClientThatAnswersPingsStaysConnectedWhileASilentPeerTimesOut()
    {
        await using var steady = await JoinedClientAsync("steady");
        using var silent = await JoinedRawPeerAsync("silent");

        // The silent peer's removal takes at least a ping interval plus the pong timeout: several
        // heartbeats that the steady client had to answer in time.
        await Eventually.TrueAsync(() => _server.Registry.Count == 1, "the silent peer has been removed", RemovalDeadline);

        Assert.False(steady.Closed.Task.IsCompleted, "the steady client is still connected");
        var presence = await steady.RequestAsync($$"""{"op":"presence","room":"{{Room}}"}""");
        Assert.Equal("reply", presence.GetProperty("op").GetString());
        Assert.Equal(1, presence.GetProperty("users").GetProperty("steady").GetInt32());
        Assert.Equal(1, _server.Registry.Count);
    }

    private async Task<ProtocolClient> JoinedClientAsync(string user)
    {
        var client = await _server.ConnectAsync(user);
        await client.RequestAsync($$"""{"op":"join","room":"{{Room}}"}""");
        return client;
    }

    /// <summary>A raw peer that completes the handshake and joins, then never reads again, so it never answers a ping.</summary>
    private async Task<RawWebSocketPeer> JoinedRawPeerAsync(string user)
    {
        var peer = await RawWebSocketPeer.ConnectAsync(_server.BaseUri, "/ws?user=" + user);
        await peer.SendTextAsync($$"""{"op":"join","room":"{{Room}}","id":1}""");
        await peer.ReadLineAsync(line => line.StartsWith("""{"op":"reply","id":1""", StringComparison.Ordinal));
        return peer;
    }
}
