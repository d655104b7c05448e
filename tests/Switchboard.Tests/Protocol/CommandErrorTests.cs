using System.Net.WebSockets;
using System.Text.Json;
using Switchboard.Protocol;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Protocol;

/// <summary>Every error a command can earn, over a real socket: it is answered, and the connection carries on.</summary>
[Trait("Category", "integration")]
public sealed class CommandErrorTests : IAsyncLifetime
{
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData("{not json")]
    [InlineData("[1,2,3]")]
    [InlineData("\"just a string\"")]
    [InlineData("{\"op\":\"join\",\"room\":")]
    public async Task MalformedJsonIsABadRequestWithoutIdAndTheConnectionKeepsWorking(string frame)
    {
        await using var client = await _server.ConnectAsync();
        await client.SendAsync(frame);
        var error = await client.NextAsync();
        AssertError(error, ErrorCodes.BadRequest, id: null);
        await AssertStillWorksAsync(client);
    }

    [Fact]
    public async Task TrailingGarbageAfterACommandRunsTheCommandThenIsABadRequest()
    {
        await using var client = await _server.ConnectAsync();
        await client.SendAsync("""{"op":"join","room":"r","id":"j"} trailing""");
        var joined = await client.NextAsync();
        Assert.Equal("reply", joined.GetProperty("op").GetString());
        Assert.Equal("j", joined.GetProperty("id").GetString());
        AssertError(await client.ExpectAsync("error"), ErrorCodes.BadRequest, id: null);
        await AssertStillWorksAsync(client, room: "r");
    }

    [Fact]
    public async Task MalformedJsonAfterAnIdIsAnsweredWithThatId()
    {
        await using var client = await _server.ConnectAsync();
        await client.SendAsync("""{"id":"early","op":"join","room":""");
        AssertError(await client.NextAsync(), ErrorCodes.BadRequest, id: "\"early\"");
        await AssertStillWorksAsync(client);
    }

    [Fact]
    public async Task NestingDeeperThan64IsABadRequestAndTheConnectionKeepsWorking()
    {
        await using var client = await _server.ConnectAsync();
        await client.SendAsync("{\"op\":\"publish\",\"room\":\"r\",\"data\":" + new string('[', 100) + new string(']', 100) + "}");
        AssertError(await client.NextAsync(), ErrorCodes.BadRequest, id: null);
        await AssertStillWorksAsync(client);
    }

    [Fact]
    public async Task UnknownOpIsAnsweredWithItsId()
    {
        await using var client = await _server.ConnectAsync();
        var error = await client.RequestAsync("""{"op":"subscribe","room":"r"}""");
        AssertError(error, ErrorCodes.UnknownOp, id: AnyId);
        await AssertStillWorksAsync(client);
    }

    [Theory]
    [InlineData("""{"room":"r"}""")]
    [InlineData("""{"op":"join"}""")]
    [InlineData("""{"op":"publish","room":"r"}""")]
    [InlineData("""{"op":"send","data":1}""")]
    [InlineData("""{"op":"join","room":42}""")]
    [InlineData("""{"op":true,"room":"r"}""")]
    [InlineData("""{"op":"history","room":"r","limit":0}""")]
    [InlineData("""{"op":"join","room":"r","since":"yesterday"}""")]
    [InlineData("""{"op":"join","room":"r","since":{"offset":1}}""")]
    public async Task MissingOrWrongTypedFieldIsAnInvalidField(string command)
    {
        await using var client = await _server.ConnectAsync();
        AssertError(await client.RequestAsync(command), ErrorCodes.InvalidField, id: AnyId);
        await AssertStillWorksAsync(client);
    }

    [Fact]
    public async Task IdLongerThan128BytesIsAnInvalidFieldWithoutAnId()
    {
        await using var client = await _server.ConnectAsync();
        await client.SendAsync("{\"op\":\"join\",\"room\":\"r\",\"id\":\"" + new string('i', 200) + "\"}");
        AssertError(await client.NextAsync(), ErrorCodes.InvalidField, id: null);
        await AssertStillWorksAsync(client);
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("caf\u00e9")]
    [InlineData("semi;colon")]
    public async Task InvalidRoomNameIsAnInvalidRoom(string room)
    {
        await using var client = await _server.ConnectAsync();
        var error = await client.RequestAsync("{\"op\":\"join\",\"room\":" + JsonSerializer.Serialize(room) + "}");
        AssertError(error, ErrorCodes.InvalidRoom, id: AnyId);
        await AssertStillWorksAsync(client);
    }

    [Fact]
    public async Task RoomNameOf129CharactersIsAnInvalidRoom()
    {
        await using var client = await _server.ConnectAsync();
        AssertError(await client.RequestAsync("{\"op\":\"join\",\"room\":\"" + new string('r', 129) + "\"}"), ErrorCodes.InvalidRoom, id: AnyId);
        await AssertStillWorksAsync(client);
    }

    [Fact]
    public async Task SendToAnInvalidUserIsAnInvalidUser()
    {
        await using var client = await _server.ConnectAsync();
        AssertError(await client.RequestAsync("""{"op":"send","user":"bob smith","data":1}"""), ErrorCodes.InvalidUser, id: AnyId);
        await AssertStillWorksAsync(client);
    }

    [Fact]
    public async Task PublishToARoomNotJoinedIsNotJoinedAndPublishesNothing()
    {
        await using var outsider = await _server.ConnectAsync("outsider");
        await using var member = await _server.ConnectAsync("member");
        var joined = await member.RequestAsync("""{"op":"join","room":"guarded"}""");

        AssertError(await outsider.RequestAsync("""{"op":"publish","room":"guarded","data":"sneaky"}"""), ErrorCodes.NotJoined, id: AnyId);

        var published = await member.RequestAsync("""{"op":"publish","room":"guarded","data":"legit"}""");
        Assert.Equal(joined.GetProperty("offset").GetUInt64() + 1, published.GetProperty("offset").GetUInt64());
        var message = await member.ExpectAsync("message");
        Assert.Equal("legit", message.GetProperty("data").GetString());
        await AssertStillWorksAsync(outsider);
    }

    [Fact]
    public async Task PublishWithoutIdToARoomNotJoinedStillGetsAnErrorWithoutId()
    {
        await using var client = await _server.ConnectAsync();
        await client.SendAsync("""{"op":"publish","room":"elsewhere","data":1}""");
        AssertError(await client.NextAsync(), ErrorCodes.NotJoined, id: null);
        await AssertStillWorksAsync(client);
    }

    [Fact]
    public async Task LeaveOfARoomNotJoinedIsNotJoined()
    {
        await using var client = await _server.ConnectAsync();
        AssertError(await client.RequestAsync("""{"op":"leave","room":"never"}"""), ErrorCodes.NotJoined, id: AnyId);
        await AssertStillWorksAsync(client);
    }

    [Fact]
    public async Task LeaveTwiceIsNotJoinedTheSecondTime()
    {
        await using var client = await _server.ConnectAsync();
        await client.RequestAsync("""{"op":"join","room":"once"}""");
        Assert.Equal("reply", (await client.RequestAsync("""{"op":"leave","room":"once"}""")).GetProperty("op").GetString());
        AssertError(await client.RequestAsync("""{"op":"leave","room":"once"}"""), ErrorCodes.NotJoined, id: AnyId);
        await AssertStillWorksAsync(client);
    }

    [Fact]
    public async Task JoinTwiceIsAlreadyJoinedAndMembershipContinues()
    {
        await using var client = await _server.ConnectAsync();
        Assert.Equal("reply", (await client.RequestAsync("""{"op":"join","room":"twice"}""")).GetProperty("op").GetString());
        AssertError(await client.RequestAsync("""{"op":"join","room":"twice"}"""), ErrorCodes.AlreadyJoined, id: AnyId);

        var published = await client.RequestAsync("""{"op":"publish","room":"twice","data":"still a member"}""");
        Assert.Equal(1UL, published.GetProperty("offset").GetUInt64());
        Assert.Equal("still a member", (await client.ExpectAsync("message")).GetProperty("data").GetString());
        var presence = await client.RequestAsync("""{"op":"presence","room":"twice"}""");
        Assert.Equal(1, presence.GetProperty("users").GetProperty("alice").GetInt32());
    }

    [Fact]
    public async Task JoiningMoreThanTheRoomLimitIsTooManyRoomsUntilOneIsLeft()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Switchboard:Limits:MaxRoomsPerConnection"] = "3" });
        await using var client = await server.ConnectAsync();
        for (var i = 1; i <= 3; i++)
        {
            Assert.Equal("reply", (await client.RequestAsync($$"""{"op":"join","room":"r{{i}}"}""")).GetProperty("op").GetString());
        }

        AssertError(await client.RequestAsync("""{"op":"join","room":"r4"}"""), ErrorCodes.TooManyRooms, id: AnyId);
        Assert.DoesNotContain(server.Hub.Rooms(), r => r.Room == "r4");

        await client.RequestAsync("""{"op":"leave","room":"r1"}""");
        Assert.Equal("reply", (await client.RequestAsync("""{"op":"join","room":"r4"}""")).GetProperty("op").GetString());
        await AssertStillWorksAsync(client, room: "r4");
    }

    [Fact]
    public async Task RoomLimitCountsEachConnectionSeparately()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Switchboard:Limits:MaxRoomsPerConnection"] = "3" });
        await using var first = await server.ConnectAsync();
        await using var second = await server.ConnectAsync();
        for (var i = 1; i <= 3; i++)
        {
            await first.RequestAsync($$"""{"op":"join","room":"r{{i}}"}""");
        }

        Assert.Equal("reply", (await second.RequestAsync("""{"op":"join","room":"r4"}""")).GetProperty("op").GetString());
    }

    [Theory]
    [InlineData("presence")]
    [InlineData("history")]
    public async Task PresenceAndHistoryWithoutIdAreAnInvalidFieldWithoutId(string op)
    {
        await using var client = await _server.ConnectAsync();
        await client.SendAsync($$"""{"op":"{{op}}","room":"lobby"}""");
        var error = await client.NextAsync();
        AssertError(error, ErrorCodes.InvalidField, id: null);
        Assert.Contains("id", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        await AssertStillWorksAsync(client);
    }

    [Theory]
    [InlineData(new byte[] { 0x07, 0x01, (byte)'r', 1, 2 })]
    [InlineData(new byte[] { 0x01 })]
    [InlineData(new byte[] { 0x01, 0x09, (byte)'r' })]
    [InlineData(new byte[] { 0x01, 0x00, 1, 2 })]
    [InlineData(new byte[] { 0x01, 0x02, (byte)'r', (byte)' ', 1 })]
    public async Task BinaryFrameWithABadHeaderIsABadBinaryHeaderWithoutId(byte[] frame)
    {
        await using var client = await _server.ConnectAsync();
        await client.RequestAsync("""{"op":"join","room":"r"}""");
        await client.SendRawAsync(frame, WebSocketMessageType.Binary);
        AssertError(await client.ExpectAsync("error"), ErrorCodes.BadBinaryHeader, id: null);
        await AssertStillWorksAsync(client, room: "r");
    }

    [Fact]
    public async Task EmptyBinaryFrameIsABadBinaryHeader()
    {
        await using var client = await _server.ConnectAsync();
        await client.SendRawAsync(ReadOnlyMemory<byte>.Empty, WebSocketMessageType.Binary);
        // Commands are answered in order, so the error must come before the reply to this one.
        await client.SendAsync("""{"op":"presence","room":"r","id":"after"}""");
        AssertError(await client.NextAsync(), ErrorCodes.BadBinaryHeader, id: null);
        Assert.Equal("\"after\"", (await client.NextAsync()).GetProperty("id").GetRawText());
        await AssertStillWorksAsync(client);
    }

    [Fact]
    public async Task BinaryPublishToARoomNotJoinedIsNotJoinedWithoutId()
    {
        await using var client = await _server.ConnectAsync();
        await client.SendRawAsync(BinaryFrames.EncodePublish("nowhere", [1, 2, 3]), WebSocketMessageType.Binary);
        AssertError(await client.NextAsync(), ErrorCodes.NotJoined, id: null);
        await AssertStillWorksAsync(client);
    }

    [Fact]
    public async Task ErrorsWithoutIdArriveInTheOrderTheCommandsWereSent()
    {
        await using var client = await _server.ConnectAsync();
        await client.SendAsync("garbage");
        await client.SendAsync("""{"op":"nope","room":"r"}""");
        await client.SendAsync("""{"op":"leave","room":"r"}""");
        await client.SendRawAsync(new byte[] { 0xFF }, WebSocketMessageType.Binary);

        string[] expected = [ErrorCodes.BadRequest, ErrorCodes.UnknownOp, ErrorCodes.NotJoined, ErrorCodes.BadBinaryHeader];
        foreach (var code in expected)
        {
            AssertError(await client.NextAsync(), code, id: null);
        }

        await AssertStillWorksAsync(client);
    }

    [Fact]
    public async Task AnotherMemberKeepsReceivingWhileOneClientSendsGarbage()
    {
        await using var vandal = await _server.ConnectAsync("vandal");
        await using var publisher = await _server.ConnectAsync("publisher");
        await using var reader = await _server.ConnectAsync("reader");
        await vandal.RequestAsync("""{"op":"join","room":"shared"}""");
        await publisher.RequestAsync("""{"op":"join","room":"shared"}""");
        await reader.RequestAsync("""{"op":"join","room":"shared"}""");

        const int count = 50;
        var garbage = Task.Run(async () =>
        {
            for (var i = 0; i < count; i++)
            {
                await vandal.SendAsync("{\"op\":\"publish\",\"room\":");
                await vandal.SendRawAsync(new byte[] { 0x01, 0xEE }, WebSocketMessageType.Binary);
                await vandal.SendAsync("""{"op":"publish","room":"not-joined","data":1}""");
            }
        });
        for (var i = 1; i <= count; i++)
        {
            await publisher.SendAsync($$"""{"op":"publish","room":"shared","data":{{i}}}""");
        }

        await garbage.WaitAsync(ProtocolClient.DefaultTimeout);
        for (var i = 1; i <= count; i++)
        {
            var message = await reader.ExpectAsync("message");
            Assert.Equal(i, message.GetProperty("data").GetInt32());
            Assert.Equal("publisher", message.GetProperty("from").GetString());
        }

        // The vandal got one error per bad frame, and is itself still served.
        for (var i = 0; i < count * 3; i++)
        {
            await vandal.ExpectAsync("error");
        }

        await AssertStillWorksAsync(vandal, room: "shared");
        Assert.Equal(WebSocketState.Open, reader.Socket.State);
    }

    private const string AnyId = "*";

    /// <summary>
    /// Asserts <paramref name="message"/> is an error with <paramref name="code"/> and a message; <paramref name="id"/> is
    /// the raw JSON id expected, <see cref="AnyId"/> for any id, or null for none.
    /// </summary>
    private static void AssertError(JsonElement message, string code, string? id)
    {
        Assert.Equal("error", message.GetProperty("op").GetString());
        Assert.Equal(code, message.GetProperty("code").GetString());
        Assert.False(string.IsNullOrEmpty(message.GetProperty("message").GetString()));
        if (id is null)
        {
            Assert.False(message.TryGetProperty("id", out _), "an error to a command without id must carry no id: " + message);
        }
        else if (id != AnyId)
        {
            Assert.Equal(id, message.GetProperty("id").GetRawText());
        }
        else
        {
            Assert.True(message.TryGetProperty("id", out _));
        }
    }

    /// <summary>Proves the connection still carries commands both ways: a join (or publish in a joined room) round trip with its message.</summary>
    private static async Task AssertStillWorksAsync(ProtocolClient client, string? room = null)
    {
        if (room is null)
        {
            room = "alive-" + Guid.NewGuid().ToString("N");
            var joined = await client.RequestAsync($$"""{"op":"join","room":"{{room}}"}""");
            Assert.Equal("reply", joined.GetProperty("op").GetString());
        }

        var marker = Guid.NewGuid().ToString("N");
        var published = await client.RequestAsync($$"""{"op":"publish","room":"{{room}}","data":"{{marker}}"}""");
        Assert.Equal("reply", published.GetProperty("op").GetString());
        var message = await client.ExpectAsync(m => m.GetProperty("op").GetString() == "message" && m.GetProperty("data").ValueKind == JsonValueKind.String && m.GetProperty("data").GetString() == marker);
        Assert.Equal(published.GetProperty("offset").GetUInt64(), message.GetProperty("offset").GetUInt64());
        Assert.Equal(WebSocketState.Open, client.Socket.State);
    }
}
