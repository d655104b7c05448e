using System.Text.Json;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Protocol;

[Trait("Category", "integration")]
public sealed class RoomMessagingTests : IAsyncLifetime
{
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task WelcomeNamesTheSessionUserAndPingInterval()
    {
        await using var client = await ProtocolClient.ConnectAsync(_server.Ws("ws?user=alice"));
        var welcome = await client.ExpectAsync("welcome");
        Assert.Equal("alice", welcome.GetProperty("user").GetString());
        Assert.False(string.IsNullOrEmpty(welcome.GetProperty("session").GetString()));
        Assert.Equal(25, welcome.GetProperty("ping").GetInt32());
    }

    [Fact]
    public async Task PublicationReachesEveryMemberIncludingThePublisher()
    {
        await using var alice = await _server.ConnectAsync("alice");
        await using var bob = await _server.ConnectAsync("bob");
        var joined = await alice.RequestAsync("""{"op":"join","room":"lobby"}""");
        Assert.Equal("reply", joined.GetProperty("op").GetString());
        Assert.Equal(0UL, joined.GetProperty("offset").GetUInt64());
        await bob.RequestAsync("""{"op":"join","room":"lobby"}""");

        var published = await alice.RequestAsync("""{"op":"publish","room":"lobby","data":{"text":"hi"}}""");
        Assert.Equal(1UL, published.GetProperty("offset").GetUInt64());
        Assert.Equal(joined.GetProperty("epoch").GetString(), published.GetProperty("epoch").GetString());

        foreach (var member in new[] { alice, bob })
        {
            var message = await member.ExpectAsync("message");
            Assert.Equal("lobby", message.GetProperty("room").GetString());
            Assert.Equal("alice", message.GetProperty("from").GetString());
            Assert.Equal(1UL, message.GetProperty("offset").GetUInt64());
            Assert.Equal("hi", message.GetProperty("data").GetProperty("text").GetString());
        }
    }

    [Fact]
    public async Task RejoiningWithSinceRecoversEveryMissedPublication()
    {
        await using var alice = await _server.ConnectAsync("alice");
        var joined = await alice.RequestAsync("""{"op":"join","room":"news"}""");
        var epoch = joined.GetProperty("epoch").GetString();
        await alice.RequestAsync("""{"op":"publish","room":"news","data":1}""");
        await alice.CloseAsync();

        await using var publisher = await _server.ConnectAsync("bob");
        await publisher.RequestAsync("""{"op":"join","room":"news"}""");
        for (var i = 2; i <= 4; i++)
        {
            await publisher.RequestAsync($$"""{"op":"publish","room":"news","data":{{i}}}""");
        }

        await using var back = await _server.ConnectAsync("alice");
        var recovered = await back.RequestAsync("{\"op\":\"join\",\"room\":\"news\",\"since\":{\"offset\":1,\"epoch\":\"" + epoch + "\"}}");
        Assert.True(recovered.GetProperty("recovered").GetBoolean());
        Assert.Equal(4UL, recovered.GetProperty("offset").GetUInt64());
        var offsets = recovered.GetProperty("publications").EnumerateArray().Select(p => p.GetProperty("offset").GetUInt64());
        Assert.Equal([2UL, 3UL, 4UL], offsets);
        Assert.Equal([2, 3, 4], recovered.GetProperty("publications").EnumerateArray().Select(p => p.GetProperty("data").GetInt32()));
    }

    [Fact]
    public async Task MalformedJsonGetsABadRequestErrorAndTheConnectionKeepsWorking()
    {
        await using var client = await _server.ConnectAsync();
        await client.SendAsync("{not json");
        var error = await client.ExpectAsync("error");
        Assert.Equal("bad_request", error.GetProperty("code").GetString());

        var joined = await client.RequestAsync("""{"op":"join","room":"still-fine"}""");
        Assert.Equal("reply", joined.GetProperty("op").GetString());
    }

    [Fact]
    public async Task AfterEveryClientLeavesNothingRemains()
    {
        var clients = new List<ProtocolClient>();
        for (var i = 0; i < 5; i++)
        {
            var client = await _server.ConnectAsync("user" + i);
            await client.RequestAsync("""{"op":"join","room":"a"}""");
            await client.RequestAsync("""{"op":"join","room":"b"}""");
            clients.Add(client);
        }

        Assert.Equal(2, _server.Hub.RoomCount);
        foreach (var client in clients)
        {
            await client.CloseAsync();
            await client.DisposeAsync();
        }

        using var empty = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _server.Registry.WaitUntilEmptyAsync(empty.Token);
        Assert.Equal(0, _server.Hub.RoomCount);
        Assert.Equal(0, _server.Hub.UserCount);
        using var rooms = JsonDocument.Parse(await _server.Http.GetStringAsync("api/rooms"));
        Assert.Empty(rooms.RootElement.GetProperty("rooms").EnumerateArray());
        Assert.Equal(0, (await MetricsScrape.ReadAsync(_server))["switchboard_connections"]);
    }
}
