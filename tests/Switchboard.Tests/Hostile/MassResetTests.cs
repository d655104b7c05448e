using Switchboard.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Switchboard.Tests.Hostile;

/// <summary>
/// Thousands of members vanish at the same instant with a TCP reset (no close frame, no FIN): the
/// node forgets every one of them, returns its memory, and treats it all as routine.
/// </summary>
[Collection(ProcessWideMeasurement.Name)]
[Trait("Category", "integration")]
public sealed class MassResetTests(ITestOutputHelper output)
{
    private const int Peers = 2_000;
    private const int Rooms = 8;

    // Enough handshakes in flight to be quick, few enough not to overflow the listen backlog.
    private const int ConcurrentHandshakes = 64;

    // A leak check, not a performance figure: 2,000 leaked connections with their queues, rooms and
    // Kestrel state would hold far more than this; pools that keep a few buffers hold far less.
    private const long AllowedGrowthBytes = 20 * 1024 * 1024;

    [Fact]
    public async Task TwoThousandPeersResetAtOnceLeaveNothingBehindAndMemoryReturnsToBaseline()
    {
        var logs = new CapturingLoggerProvider();
        await using var server = await TestServer.StartAsync(logs: logs);
        // One round trip first, so that one-time costs (JIT, first pool blocks) are part of the baseline.
        using (var warmUp = await JoinedPeerAsync(server, 0))
        {
            warmUp.Reset();
        }

        await server.WaitUntilEmptyAsync();
        var baseline = GC.GetTotalMemory(forceFullCollection: true);

        long loaded;
        var peers = new RawWebSocketPeer?[Peers];
        try
        {
            using var handshakes = new SemaphoreSlim(ConcurrentHandshakes);
            await Task.WhenAll(Enumerable.Range(0, Peers).Select(async i =>
            {
                await handshakes.WaitAsync();
                try
                {
                    peers[i] = await JoinedPeerAsync(server, i);
                }
                finally
                {
                    handshakes.Release();
                }
            })).WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(Peers, server.Registry.Count);
            Assert.Equal(Rooms, server.Hub.RoomCount);
            Assert.Equal(Peers, server.Hub.UserCount);
            loaded = GC.GetTotalMemory(forceFullCollection: true);

            foreach (var peer in peers)
            {
                peer!.Reset();
            }

            await server.WaitUntilEmptyAsync(TimeSpan.FromSeconds(30));
            await server.AssertNothingRemainsAsync();
        }
        finally
        {
            for (var i = 0; i < peers.Length; i++)
            {
                peers[i]?.Dispose();
                peers[i] = null;
            }
        }

        var after = GC.GetTotalMemory(forceFullCollection: true);
        output.WriteLine($"managed heap: baseline {baseline / 1024} KiB, with {Peers} peers {loaded / 1024} KiB, after the reset {after / 1024} KiB");
        Assert.True(after < baseline + AllowedGrowthBytes, $"the heap grew from {baseline / 1024} KiB to {after / 1024} KiB after {Peers} peers came and went (with them: {loaded / 1024} KiB)");
        logs.AssertNoErrors();
    }

    private static async Task<RawWebSocketPeer> JoinedPeerAsync(TestServer server, int i)
    {
        var peer = await RawWebSocketPeer.ConnectAsync(server.BaseUri, "/ws?user=peer" + i);
        try
        {
            await peer.SendTextAsync($$"""{"op":"join","room":"room{{i % Rooms}}","id":1}""");
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
