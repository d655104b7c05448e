using System.Net.WebSockets;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Lifetime;

/// <summary>However a connection ends, everything it held on the node is released.</summary>
[Trait("Category", "integration")]
public sealed class TeardownTests : IAsyncLifetime
{
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task ClientsThatCloseWithAHandshakeLeaveNothingBehind()
    {
        var clients = await ConnectEverywhereAsync();

        foreach (var client in clients)
        {
            await client.CloseAsync();
            Assert.Equal(WebSocketCloseStatus.NormalClosure, await client.WaitForCloseAsync());
            await client.DisposeAsync();
        }

        await _server.AssertNothingRemainsAsync();
    }

    [Fact]
    public async Task ClientsThatAbortTheirSocketsLeaveNothingBehind()
    {
        var clients = await ConnectEverywhereAsync();

        foreach (var client in clients)
        {
            client.Socket.Abort();
        }

        await _server.AssertNothingRemainsAsync();
        foreach (var client in clients)
        {
            await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task PeersThatResetTheirTcpConnectionsLeaveNothingBehind()
    {
        using var first = await JoinRawAsync("mallory", "reset-a");
        using var second = await JoinRawAsync("trent", "reset-b");
        Assert.Equal(2, _server.Hub.RoomCount);

        first.Reset();
        second.Reset();

        await _server.AssertNothingRemainsAsync();
    }

    [Fact]
    public async Task ServerShutdownLeavesNothingBehind()
    {
        var clients = await ConnectEverywhereAsync();

        await _server.StopAsync();

        await _server.AssertNothingRemainsAfterStopAsync();
        foreach (var client in clients)
        {
            await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task TwoHundredClientsInSeveralRoomsAbortedAtOnceLeaveNothingBehind()
    {
        const int Clients = 160;
        const int RawPeers = 40;
        var clients = await Task.WhenAll(Enumerable.Range(0, Clients).Select(async i =>
        {
            var client = await _server.ConnectAsync("user" + (i % 50));
            await client.RequestAsync($$"""{"op":"join","room":"room{{i % 7}}"}""");
            await client.RequestAsync($$"""{"op":"join","room":"shared{{i % 2}}"}""");
            return client;
        })).WaitAsync(TimeSpan.FromSeconds(30));
        var peers = await Task.WhenAll(Enumerable.Range(0, RawPeers).Select(i => JoinRawAsync("raw" + i, "room" + (i % 7))))
            .WaitAsync(TimeSpan.FromSeconds(30));
        try
        {
            Assert.Equal(Clients + RawPeers, _server.Registry.Count);
            Assert.Equal(9, _server.Hub.RoomCount);

            foreach (var client in clients)
            {
                client.Socket.Abort();
            }

            foreach (var peer in peers)
            {
                peer.Reset();
            }

            await _server.AssertNothingRemainsAsync();
        }
        finally
        {
            foreach (var peer in peers)
            {
                peer.Dispose();
            }

            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    /// <summary>Two protocol clients in two rooms, a member of a plain room and an echo client, all known to be set up.</summary>
    private async Task<ProtocolClient[]> ConnectEverywhereAsync()
    {
        var alice = await _server.ConnectAsync("alice");
        var bob = await _server.ConnectAsync("bob");
        foreach (var client in new[] { alice, bob })
        {
            await client.RequestAsync("""{"op":"join","room":"lobby"}""");
            await client.RequestAsync("""{"op":"join","room":"news"}""");
        }

        var plain = await ProtocolClient.ConnectAsync(_server.Ws("rooms/chat"));
        await plain.SendAsync("\"hello\"");
        Assert.Equal("hello", (await plain.NextAsync()).GetString());

        var echo = await ProtocolClient.ConnectAsync(_server.Ws("echo"));
        await echo.SendAsync("\"ping\"");
        Assert.Equal("ping", (await echo.NextAsync()).GetString());

        Assert.Equal(4, _server.Registry.Count);
        Assert.Equal(2, _server.Hub.RoomCount);
        return [alice, bob, plain, echo];
    }

    /// <summary>A raw peer of <paramref name="user"/> that has joined <paramref name="room"/> (its reply read).</summary>
    private async Task<RawWebSocketPeer> JoinRawAsync(string user, string room)
    {
        var peer = await RawWebSocketPeer.ConnectAsync(_server.BaseUri, "/ws?user=" + user);
        await peer.SendTextAsync($$"""{"op":"join","room":"{{room}}","id":1}""");
        await peer.ReadLineAsync(line => line.StartsWith("""{"op":"reply","id":1""", StringComparison.Ordinal));
        return peer;
    }
}
