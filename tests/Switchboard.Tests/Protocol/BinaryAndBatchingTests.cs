using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Switchboard.Protocol;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Protocol;

/// <summary>Binary publications on <c>/ws</c>, and newline batching in both directions.</summary>
[Trait("Category", "integration")]
public sealed class BinaryAndBatchingTests : IAsyncLifetime
{
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    // ---- binary publications ----

    [Fact]
    public async Task BinaryPublishReachesEveryMemberAsADecodableBinaryFrame()
    {
        var (alice, bob) = await TwoMembersAsync("bin");
        await using (alice)
        await using (bob)
        {
            byte[] payload = [0x00, 0xFF, (byte)'\n', (byte)'{', 0x80, 0x7F];
            await alice.SendRawAsync(BinaryFrames.EncodePublish("bin", payload), WebSocketMessageType.Binary);

            foreach (var member in new[] { alice, bob })
            {
                var frame = await member.NextBinaryAsync();
                Assert.True(BinaryFrames.TryDecodeMessage(frame, out var room, out var from, out var offset, out var received));
                Assert.Equal("bin", room);
                Assert.Equal("alice", from);
                Assert.Equal(1UL, offset);
                Assert.Equal(payload, received.ToArray());
            }
        }
    }

    [Fact]
    public async Task BinaryPublicationAppearsInHistoryAsBase64()
    {
        var (alice, bob) = await TwoMembersAsync("bin");
        await using (alice)
        await using (bob)
        {
            var payload = Enumerable.Range(0, 300).Select(i => (byte)i).ToArray();
            await alice.SendRawAsync(BinaryFrames.EncodePublish("bin", payload), WebSocketMessageType.Binary);
            await bob.NextBinaryAsync();

            var history = await bob.RequestAsync("""{"op":"history","room":"bin"}""");
            var publication = Assert.Single(history.GetProperty("publications").EnumerateArray());
            Assert.Equal("message", publication.GetProperty("op").GetString());
            Assert.Equal("bin", publication.GetProperty("room").GetString());
            Assert.Equal("alice", publication.GetProperty("from").GetString());
            Assert.Equal(1UL, publication.GetProperty("offset").GetUInt64());
            Assert.False(publication.TryGetProperty("data", out _));
            Assert.Equal(payload, publication.GetProperty("binary").GetBytesFromBase64());

            using var response = await _server.Http.GetAsync(new Uri("api/rooms/bin/history", UriKind.Relative));
            using var http = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal(payload, http.RootElement.GetProperty("publications")[0].GetProperty("binary").GetBytesFromBase64());
        }
    }

    [Fact]
    public async Task BinaryAndJsonPublicationsShareOneStreamAndKeepTheirOrder()
    {
        var (alice, bob) = await TwoMembersAsync("mixed");
        await using (alice)
        await using (bob)
        {
            await alice.SendAsync("""{"op":"publish","room":"mixed","data":"first"}""");
            await alice.SendRawAsync(BinaryFrames.EncodePublish("mixed", [2]), WebSocketMessageType.Binary);
            await alice.SendAsync("""{"op":"publish","room":"mixed","data":"third"}""");

            var first = await bob.NextAsync();
            Assert.Equal(1UL, first.GetProperty("offset").GetUInt64());
            Assert.True(BinaryFrames.TryDecodeMessage(await bob.NextBinaryAsync(), out _, out _, out var offset, out var payload));
            Assert.Equal(2UL, offset);
            Assert.Equal([2], payload.ToArray());
            var third = await bob.NextAsync();
            Assert.Equal(3UL, third.GetProperty("offset").GetUInt64());
            Assert.Equal("third", third.GetProperty("data").GetString());
        }
    }

    [Fact]
    public async Task RecoveredBinaryPublicationsComeAsBase64InTheReplyOrAsBinaryFramesWithoutId()
    {
        var (alice, bob) = await TwoMembersAsync("bin");
        await using (alice)
        await using (bob)
        {
            var epoch = (await alice.RequestAsync("""{"op":"history","room":"bin"}""")).GetProperty("epoch").GetString();
            await alice.SendRawAsync(BinaryFrames.EncodePublish("bin", [7, 7]), WebSocketMessageType.Binary);
            await alice.NextBinaryAsync();

            await using var withId = await _server.ConnectAsync("carol");
            var joined = await withId.RequestAsync($$$"""{"op":"join","room":"bin","since":{"offset":0,"epoch":"{{{epoch}}}"}}""");
            Assert.True(joined.GetProperty("recovered").GetBoolean());
            Assert.Equal([7, 7], joined.GetProperty("publications")[0].GetProperty("binary").GetBytesFromBase64());

            await using var withoutId = await _server.ConnectAsync("dave");
            await withoutId.SendAsync($$$"""{"op":"join","room":"bin","since":{"offset":0,"epoch":"{{{epoch}}}"}}""");
            Assert.True(BinaryFrames.TryDecodeMessage(await withoutId.NextBinaryAsync(), out var room, out var from, out var offset, out var payload));
            Assert.Equal(("bin", "alice", 1UL), (room, from, offset));
            Assert.Equal([7, 7], payload.ToArray());
        }
    }

    [Fact]
    public async Task LargeBinaryPayloadArrivesIntact()
    {
        var (alice, bob) = await TwoMembersAsync("big");
        await using (alice)
        await using (bob)
        {
            var payload = Enumerable.Range(0, 60_000).Select(i => (byte)(i % 251)).ToArray();
            await alice.SendRawAsync(BinaryFrames.EncodePublish("big", payload), WebSocketMessageType.Binary);
            Assert.True(BinaryFrames.TryDecodeMessage(await bob.NextBinaryAsync(), out _, out _, out _, out var received));
            Assert.Equal(payload, received.ToArray());
        }
    }

    // ---- client batching ----

    [Fact]
    public async Task ClientMayBatchCommandsOnePerLineAndEachGetsItsReplyInOrder()
    {
        await using var alice = await _server.ConnectAsync("alice");
        await alice.SendAsync(string.Join('\n',
            """{"op":"join","room":"batch","id":"b1"}""",
            """{"op":"publish","room":"batch","data":"one","id":"b2"}""",
            """{"op":"publish","room":"batch","data":"two","id":"b3"}""",
            """{"op":"presence","room":"batch","id":"b4"}""",
            """{"op":"leave","room":"batch","id":"b5"}"""));

        var replies = new List<JsonElement>();
        while (replies.Count < 5)
        {
            var message = await alice.NextAsync();
            if (message.GetProperty("op").GetString() is "reply" or "error")
            {
                replies.Add(message);
            }
        }

        Assert.Equal(["b1", "b2", "b3", "b4", "b5"], replies.Select(r => r.GetProperty("id").GetString()));
        Assert.All(replies, r => Assert.Equal("reply", r.GetProperty("op").GetString()));
        Assert.Equal(1UL, replies[1].GetProperty("offset").GetUInt64());
        Assert.Equal(2UL, replies[2].GetProperty("offset").GetUInt64());
        Assert.Equal(1, replies[3].GetProperty("users").GetProperty("alice").GetInt32());
    }

    [Fact]
    public async Task BatchedCommandsTolerateCrLfAndBlankLinesAndABadLineDoesNotStopTheRest()
    {
        await using var alice = await _server.ConnectAsync("alice");
        await alice.SendAsync(
            "{\"op\":\"join\",\"room\":\"batch\",\"id\":1}\r\n" +
            "\r\n" +
            "   \n" +
            "{\"op\":\"publish\",\"room\":\"batch\",\"data\":\"ok\",\"id\":2}\r\n" +
            "{garbage\n" +
            "{\"op\":\"publish\",\"room\":\"nowhere\",\"data\":1,\"id\":3}\n" +
            "{\"op\":\"publish\",\"room\":\"batch\",\"data\":\"still ok\",\"id\":4}\n");

        var answers = new List<JsonElement>();
        while (answers.Count < 5)
        {
            var message = await alice.NextAsync();
            if (message.GetProperty("op").GetString() is "reply" or "error")
            {
                answers.Add(message);
            }
        }

        Assert.Equal(
            ["reply:1", "reply:2", "error:bad_request", "error:not_joined", "reply:4"],
            answers.Select(a => a.GetProperty("op").GetString() + ":" + (a.GetProperty("op").GetString() == "error" ? a.GetProperty("code").GetString() : a.GetProperty("id").GetRawText())));
        Assert.False(answers[2].TryGetProperty("id", out _));
        Assert.Equal(3, answers[3].GetProperty("id").GetInt32());
    }

    [Fact]
    public async Task RawCarriageReturnsInsideDataAreForwardedAsSpaces()
    {
        var (alice, bob) = await TwoMembersAsync("cr");
        await using (alice)
        await using (bob)
        {
            await alice.SendAsync("{\"op\":\"publish\",\"room\":\"cr\",\"data\":{\r\"text\":\r\"hi\"\r}}");
            var message = await bob.NextAsync();
            Assert.Equal("hi", message.GetProperty("data").GetProperty("text").GetString());
            AssertEveryFrameSplitsIntoJsonObjects(bob);
            Assert.DoesNotContain(RawFrames(bob), f => f.Contains('\r', StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task SingleCommandWithRawNewlinesInsideDataIsForwardedWithSpaces()
    {
        // docs/protocol.md: "A single command may be pretty-printed over several lines", and "the
        // server turns raw CR/LF whitespace inside client data into spaces before forwarding it".
        var (alice, bob) = await TwoMembersAsync("lf");
        await using (alice)
        await using (bob)
        {
            await alice.SendAsync("{\"op\":\"publish\",\"room\":\"lf\",\"id\":\"pretty\",\"data\":{\n  \"text\": \"hi\"\n}}");
            var reply = await alice.ExpectAsync(m => m.GetProperty("op").GetString() is "reply" or "error");
            Assert.True(reply.GetProperty("op").GetString() == "reply", "a pretty-printed command was refused: " + reply);
            var message = await bob.NextAsync();
            Assert.Equal("hi", message.GetProperty("data").GetProperty("text").GetString());
            AssertEveryFrameSplitsIntoJsonObjects(bob);
        }
    }

    // ---- server batching ----

    [Fact]
    public async Task EveryFrameOfAFastStreamSplitsIntoValidJsonLinesWithNothingLost()
    {
        const int count = 2000;
        var (publisher, reader) = await TwoMembersAsync("stream");
        await using (publisher)
        await using (reader)
        {
            var sender = Task.Run(async () =>
            {
                for (var i = 1; i <= count; i++)
                {
                    // Escaped newlines in data must stay escaped inside a batch.
                    await publisher.SendAsync($$$"""{"op":"publish","room":"stream","data":{"n":{{{i}}},"text":"line\nbreak"}}""");
                }
            });

            for (var i = 1; i <= count; i++)
            {
                var message = await reader.NextAsync();
                Assert.Equal(JsonValueKind.Object, message.ValueKind);
                Assert.Equal("message", message.GetProperty("op").GetString());
                Assert.Equal((ulong)i, message.GetProperty("offset").GetUInt64());
                Assert.Equal(i, message.GetProperty("data").GetProperty("n").GetInt32());
                Assert.Equal("line\nbreak", message.GetProperty("data").GetProperty("text").GetString());
            }

            await sender.WaitAsync(ProtocolClient.DefaultTimeout);
            var lines = AssertEveryFrameSplitsIntoJsonObjects(reader);
            // The welcome, the join reply and bob's own joined event, then the stream.
            Assert.Equal(3 + count, lines);
        }
    }

    [Fact]
    public async Task ServerJoinsQueuedMessagesIntoOneFrameSeparatedByNewlines()
    {
        const int count = 300;
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Switchboard:History:Size"] = "500" });
        string? epoch = null;
        for (var i = 1; i <= count; i++)
        {
            using var response = await server.Http.PostAsJsonAsync(new Uri("api/publish", UriKind.Relative), new { room = "burst", data = i });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            epoch = body.RootElement.GetProperty("epoch").GetString();
        }

        // A join with since and no id queues every recovered publication at once, far faster than a
        // socket write completes, so the send loop finds many of them waiting and batches them.
        await using var reader = await server.ConnectAsync("reader");
        await reader.SendAsync($$$"""{"op":"join","room":"burst","since":{"offset":0,"epoch":"{{{epoch}}}"}}""");
        for (var i = 1; i <= count; i++)
        {
            var message = await reader.ExpectAsync("message");
            Assert.Equal((ulong)i, message.GetProperty("offset").GetUInt64());
        }

        AssertEveryFrameSplitsIntoJsonObjects(reader);
        var frames = RawFrames(reader);
        Assert.Contains(frames, f => f.Split('\n').Length > 1);
        Assert.True(frames.Length < count, $"{count} messages arrived in {frames.Length} frames");
        Assert.All(frames, f => Assert.True(Encoding.UTF8.GetByteCount(f) <= 32 * 1024, "a batch stays within Limits:MaxBatchBytes"));
    }

    [Fact]
    public async Task BatchesNeverExceedMaxBatchBytes()
    {
        const int count = 200;
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?>
        {
            ["Switchboard:History:Size"] = "500",
            ["Switchboard:Limits:MaxBatchBytes"] = "2048",
        });
        var text = new string('x', 300);
        string? epoch = null;
        for (var i = 1; i <= count; i++)
        {
            using var response = await server.Http.PostAsJsonAsync(new Uri("api/publish", UriKind.Relative), new { room = "burst", data = text });
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            epoch = body.RootElement.GetProperty("epoch").GetString();
        }

        await using var reader = await server.ConnectAsync("reader");
        await reader.SendAsync($$$"""{"op":"join","room":"burst","since":{"offset":0,"epoch":"{{{epoch}}}"}}""");
        for (var i = 1; i <= count; i++)
        {
            Assert.Equal((ulong)i, (await reader.ExpectAsync("message")).GetProperty("offset").GetUInt64());
        }

        AssertEveryFrameSplitsIntoJsonObjects(reader);
        Assert.All(RawFrames(reader), f => Assert.True(Encoding.UTF8.GetByteCount(f) <= 2048, $"a frame of {Encoding.UTF8.GetByteCount(f)} bytes"));
    }

    // ---- helpers ----

    /// <summary>Connects alice then bob, both members of <paramref name="room"/>, with every presence event consumed.</summary>
    private async Task<(ProtocolClient Alice, ProtocolClient Bob)> TwoMembersAsync(string room)
    {
        var alice = await _server.ConnectAsync("alice");
        var bob = await _server.ConnectAsync("bob");
        await alice.RequestAsync($$"""{"op":"join","room":"{{room}}"}""");
        await alice.ExpectAsync(m => m.GetProperty("op").GetString() == "joined" && m.GetProperty("user").GetString() == "alice");
        await bob.RequestAsync($$"""{"op":"join","room":"{{room}}"}""");
        await bob.ExpectAsync(m => m.GetProperty("op").GetString() == "joined" && m.GetProperty("user").GetString() == "bob");
        await alice.ExpectAsync(m => m.GetProperty("op").GetString() == "joined" && m.GetProperty("user").GetString() == "bob");
        return (alice, bob);
    }

    private static string[] RawFrames(ProtocolClient client)
    {
        lock (client.RawTextFrames)
        {
            return [.. client.RawTextFrames];
        }
    }

    /// <summary>Asserts every text frame received splits on '\n' into JSON objects, none empty; returns the number of lines.</summary>
    private static int AssertEveryFrameSplitsIntoJsonObjects(ProtocolClient client)
    {
        var lines = 0;
        foreach (var frame in RawFrames(client))
        {
            foreach (var line in frame.Split('\n'))
            {
                using var json = JsonDocument.Parse(line);
                Assert.Equal(JsonValueKind.Object, json.RootElement.ValueKind);
                Assert.True(json.RootElement.TryGetProperty("op", out _), line);
                lines++;
            }
        }

        return lines;
    }
}
