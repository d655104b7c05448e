using System.Globalization;
using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Endpoints;
using Switchboard.Protocol;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Security;

/// <summary>
/// Each connection has its own publish and command token buckets. An empty bucket drops the command
/// with a <c>rate_limited</c> error; a client that keeps going for <c>Limits:RateLimitStrikes</c>
/// commands in a row is closed with 4503. Nobody else is slowed down. The rates here are one per
/// second, so the few milliseconds a test takes refill next to nothing.
/// </summary>
[Trait("Category", "integration")]
public sealed class RateLimitTests
{
    [Fact]
    public async Task TheFourthQuickPublishOverABurstOfThreeIsRateLimitedAndOtherMembersAreUnaffected()
    {
        await using var server = await StartAsync(publishBurst: 3);
        await using var flooder = await JoinedAsync(server, "alice");
        await using var bystander = await JoinedAsync(server, "bob");

        await flooder.SendAsync(Lines(4, i => $$"""{"op":"publish","room":"lobby","data":{{i}},"id":{{i}}}"""));

        for (var i = 1; i <= 3; i++)
        {
            Assert.Equal((ulong)i, (await ReplyAsync(flooder, i)).GetProperty("offset").GetUInt64());
        }

        var limited = await flooder.ExpectAsync("error");
        Assert.Equal(ErrorCodes.RateLimited, limited.GetProperty("code").GetString());
        var fromBystander = await bystander.RequestAsync("""{"op":"publish","room":"lobby","data":"mine"}""");
        Assert.Equal(4UL, fromBystander.GetProperty("offset").GetUInt64());
        Assert.True(flooder.IsOpen(), "one rate_limited error does not close the connection");
    }

    [Fact]
    public async Task ARateLimitedPublishIsAnsweredWithItsId()
    {
        await using var server = await StartAsync(publishBurst: 1);
        await using var client = await JoinedAsync(server, "alice");

        await client.SendAsync(Lines(2, i => $$"""{"op":"publish","room":"lobby","data":{{i}},"id":{{i}}}"""));

        await ReplyAsync(client, 1);
        var limited = await client.ExpectAsync("error");
        Assert.Equal(ErrorCodes.RateLimited, limited.GetProperty("code").GetString());
        Assert.True(limited.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.Number && id.GetInt32() == 2, $"the client cannot tell which command was dropped: {limited}");
    }

    [Fact]
    public async Task ContinuedPublishingAfterBeingRateLimitedClosesWith4503()
    {
        await using var server = await StartAsync(publishBurst: 1, strikes: 5);
        await using var flooder = await JoinedAsync(server, "alice");
        await using var bystander = await JoinedAsync(server, "bob");

        await flooder.SendAsync(Lines(20, i => $$"""{"op":"publish","room":"lobby","data":{{i}}}"""));

        await AssertClosedBeforeAnsweringAsync(flooder, CloseCodes.RateLimited);
        Assert.Equal("reply", (await bystander.RequestAsync("""{"op":"publish","room":"lobby","data":"fine"}""")).GetProperty("op").GetString());
    }

    [Fact]
    public async Task ContinuedCommandsBeyondTheCommandRateCloseWith4503()
    {
        await using var server = await StartAsync(commandBurst: 3, strikes: 5);
        await using var flooder = await server.ConnectAsync("alice");
        await using var bystander = await server.ConnectAsync("bob");

        // Ids from 1000 up, so that no answer to the flood can pass for the answer to the probe below.
        await flooder.SendAsync(Lines(20, i => $$"""{"op":"presence","room":"lobby","id":{{1000 + i}}}"""));

        await AssertClosedBeforeAnsweringAsync(flooder, CloseCodes.RateLimited);
        Assert.False(CloseCodes.ShouldReconnect(CloseCodes.RateLimited), "4503 tells the client to back off rather than reconnect at once");
        Assert.Equal("reply", (await bystander.RequestAsync("""{"op":"presence","room":"lobby"}""")).GetProperty("op").GetString());
    }

    [Fact]
    public async Task CommandsBeyondTheCommandBurstAreRateLimited()
    {
        await using var server = await StartAsync(commandBurst: 3);
        await using var client = await server.ConnectAsync("alice");

        await client.SendAsync(Lines(4, i => $$"""{"op":"presence","room":"lobby","id":{{i}}}"""));

        for (var i = 1; i <= 3; i++)
        {
            await ReplyAsync(client, i);
        }

        Assert.Equal(ErrorCodes.RateLimited, (await client.ExpectAsync("error")).GetProperty("code").GetString());
    }

    [Fact]
    public async Task BinaryPublishesCountAgainstThePublishRate()
    {
        await using var server = await StartAsync(publishBurst: 1);
        await using var client = await JoinedAsync(server, "alice");

        await client.ExpectAsync("joined");
        await client.SendRawAsync(BinaryFrames.EncodePublish("lobby", [1]), WebSocketMessageType.Binary);
        await client.SendRawAsync(BinaryFrames.EncodePublish("lobby", [2]), WebSocketMessageType.Binary);

        Assert.Equal([2, 5, (byte)'l'], (await client.NextBinaryAsync()).Take(3));
        Assert.Equal(ErrorCodes.RateLimited, (await client.ExpectAsync("error")).GetProperty("code").GetString());
    }

    [Fact]
    public async Task EchoClientsThatKeepFloodingAreClosedWith4503()
    {
        await using var server = await StartAsync(commandBurst: 2, strikes: 3);
        await using var client = await ProtocolClient.ConnectAsync(server.Ws("echo?user=alice"));

        for (var i = 0; i < 10; i++)
        {
            await client.SendAsync("flood " + i.ToString(CultureInfo.InvariantCulture));
        }

        Assert.Equal(CloseCodes.RateLimited, (int?)await client.WaitForCloseAsync());
    }

    [Fact]
    public async Task PlainRoomMembersThatKeepFloodingAreClosedWith4503AndExcessFramesAreDropped()
    {
        await using var server = await StartAsync(publishBurst: 2, strikes: 3);
        var rooms = server.Services.GetRequiredService<PlainRooms>();
        await using var listener = await ProtocolClient.ConnectAsync(server.Ws("rooms/plain?user=bob"));
        await using var flooder = await ProtocolClient.ConnectAsync(server.Ws("rooms/plain?user=alice"));
        await Eventually.TrueAsync(() => PlainMembers(rooms) == 2, "both are members of the plain room");

        for (var i = 0; i < 10; i++)
        {
            await flooder.SendAsync("frame " + i.ToString(CultureInfo.InvariantCulture));
        }

        Assert.Equal(CloseCodes.RateLimited, (int?)await flooder.WaitForCloseAsync());
        Assert.Equal("frame 0", (await listener.NextAsync()).GetString());
        Assert.Equal("frame 1", (await listener.NextAsync()).GetString());
        await Eventually.TrueAsync(() => PlainMembers(rooms) == 1, "the flooder has left the room");
        await using var another = await ProtocolClient.ConnectAsync(server.Ws("rooms/plain?user=carol"));
        await Eventually.TrueAsync(() => PlainMembers(rooms) == 2, "carol is a member");
        await another.SendAsync("after");
        Assert.Equal("after", (await listener.NextAsync()).GetString());
    }

    /// <summary>
    /// After a flood, asks a question the server answers only if it is still serving the connection:
    /// the close must come first.
    /// </summary>
    private static async Task AssertClosedBeforeAnsweringAsync(ProtocolClient client, int code)
    {
        var answered = client.RequestAsync("""{"op":"presence","room":"lobby"}""");
        var closed = client.WaitForCloseAsync();
        await Task.WhenAny(answered, closed).WaitAsync(ProtocolClient.DefaultTimeout);
        Assert.False(answered.IsCompletedSuccessfully, $"the server kept serving the flooding connection (it answered {(answered.IsCompletedSuccessfully ? answered.Result.ToString() : "")}) instead of closing it with {code}");
        Assert.Equal(code, (int?)await closed);
    }

    private static Task<TestServer> StartAsync(int publishBurst = 1_000_000, int commandBurst = 1_000_000, int strikes = 100) =>
        TestServer.StartAsync(new Dictionary<string, string?>
        {
            ["Switchboard:Limits:PublishesPerSecond"] = publishBurst == 1_000_000 ? "1000000" : "1",
            ["Switchboard:Limits:PublishBurst"] = publishBurst.ToString(CultureInfo.InvariantCulture),
            ["Switchboard:Limits:CommandsPerSecond"] = commandBurst == 1_000_000 ? "1000000" : "1",
            ["Switchboard:Limits:CommandBurst"] = commandBurst.ToString(CultureInfo.InvariantCulture),
            ["Switchboard:Limits:RateLimitStrikes"] = strikes.ToString(CultureInfo.InvariantCulture),
        });

    private static async Task<ProtocolClient> JoinedAsync(TestServer server, string user)
    {
        var client = await server.ConnectAsync(user);
        await client.RequestAsync("""{"op":"join","room":"lobby"}""");
        return client;
    }

    private static int PlainMembers(PlainRooms rooms) => rooms.Rooms().Where(r => r.Room == "plain").Sum(r => r.Connections);

    private static Task<JsonElement> ReplyAsync(ProtocolClient client, int id) =>
        client.ExpectAsync(m => m.GetProperty("op").GetString() == "reply" && m.TryGetProperty("id", out var got) && got.GetInt32() == id);

    /// <summary>One frame with <paramref name="count"/> commands, one per line, numbered from 1.</summary>
    private static string Lines(int count, Func<int, string> command) =>
        string.Join('\n', Enumerable.Range(1, count).Select(command));
}
