using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Hostile;

/// <summary>
/// Peers that complete the upgrade, join, and then neither read nor send again never answer a ping:
/// the heartbeat (every 0.2 s, 0.5 s to answer) cuts each one off with everything it held, while a
/// client that does answer stays.
/// </summary>
/// <remarks>
/// A peer that keeps sending but never reads is a different case: the framework counts any received
/// frame as a sign of life and postpones its ping, so such a peer is bounded by its outbound queue
/// (see <see cref="StalledReaderTests"/>), not by the heartbeat.
/// </remarks>
[Collection(TimingSensitive.Name)]
[Trait("Category", "integration")]
public sealed class SilentPeerTests
{
    private const int SilentPeers = 10;
    private static readonly string[] Rooms = ["pulse-a", "pulse-b", "pulse-c"];

    // Generous against a 0.2 s interval and a 0.5 s timeout: only a missing heartbeat check exceeds it.
    private static readonly TimeSpan RemovalDeadline = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task PeersThatNeverAnswerPingsAreCutOffWithEverythingTheyHeldWhileAnsweringClientsStay()
    {
        var logs = new CapturingLoggerProvider();
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?>
        {
            ["Switchboard:Heartbeat:IntervalSeconds"] = "0.2",
            ["Switchboard:Heartbeat:TimeoutSeconds"] = "0.5",
        }, logs);
        await using var watcher = await server.ConnectAsync("watcher");
        foreach (var room in Rooms)
        {
            await watcher.RequestAsync($$"""{"op":"join","room":"{{room}}"}""");
        }

        var peers = new List<RawWebSocketPeer>();
        try
        {
            for (var i = 0; i < SilentPeers; i++)
            {
                peers.Add(await JoinedRawPeerAsync(server, "silent" + i, Rooms[i % Rooms.Length]));
            }

            Assert.Equal(SilentPeers + 1, server.Registry.Count);

            try
            {
                await Eventually.TrueAsync(() => server.Registry.Count == 1, "every silent peer has been removed", RemovalDeadline);
            }
            catch (TimeoutException)
            {
                Assert.Fail($"still connected after {RemovalDeadline.TotalSeconds} s: {string.Join(", ", server.Registry.Snapshot().Select(c => c.User))}");
            }

            var left = new List<string>();
            for (var i = 0; i < SilentPeers; i++)
            {
                left.Add((await watcher.ExpectAsync("left")).GetProperty("user").GetString()!);
            }

            Assert.Equal(Enumerable.Range(0, SilentPeers).Select(i => "silent" + i).Order(), left.Order());
            Assert.Equal(1, server.Hub.UserCount);
            Assert.Equal(Rooms.Length, server.Hub.RoomCount);
            foreach (var room in Rooms)
            {
                var presence = await watcher.RequestAsync($$"""{"op":"presence","room":"{{room}}"}""");
                Assert.Equal(["watcher"], presence.GetProperty("users").EnumerateObject().Select(u => u.Name));
            }

            foreach (var peer in peers)
            {
                Assert.True(await peer.ReadUntilDisconnectedAsync(), "the server dropped a silent peer's TCP connection");
            }
        }
        finally
        {
            peers.ForEach(p => p.Dispose());
        }

        Assert.False(watcher.Closed.Task.IsCompleted, "the watcher, which answers pings, is still connected");
        logs.AssertNoErrors();
    }

    /// <summary>A raw peer that completes the handshake and joins, then never reads again, so it never answers a ping.</summary>
    private static async Task<RawWebSocketPeer> JoinedRawPeerAsync(TestServer server, string user, string room)
    {
        var peer = await RawWebSocketPeer.ConnectAsync(server.BaseUri, "/ws?user=" + user);
        try
        {
            await peer.SendTextAsync($$"""{"op":"join","room":"{{room}}","id":1}""");
            await peer.ReadLineAsync(line => line.StartsWith("""{"op":"reply","id":1""", StringComparison.Ordinal));
            return peer;
        }
        catch
        {
            peer.Dispose();
            throw;
        }
    }
}
