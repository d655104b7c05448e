using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Brokers;
using Switchboard.Hub;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Protocol;

/// <summary>Room history (the <c>history</c> op and its HTTP twin) and recovery on join with <c>since</c>.</summary>
[Trait("Category", "integration")]
public sealed class HistoryAndRecoveryTests : IAsyncLifetime
{
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    // ---- the history op ----

    [Fact]
    public async Task HistoryWithoutSinceOrLimitReturnsEveryRetainedPublicationInOrder()
    {
        await using var alice = await _server.ConnectAsync("alice");
        var epoch = await JoinAndPublishAsync(alice, "news", 5);

        var history = await alice.RequestAsync("""{"op":"history","room":"news"}""");
        Assert.Equal("reply", history.GetProperty("op").GetString());
        Assert.Equal(5UL, history.GetProperty("offset").GetUInt64());
        Assert.Equal(epoch, history.GetProperty("epoch").GetString());
        Assert.False(history.TryGetProperty("recovered", out _), "recovered is only reported when since is given");
        Assert.Equal([1UL, 2UL, 3UL, 4UL, 5UL], Offsets(history));
        var first = history.GetProperty("publications")[0];
        Assert.Equal("message", first.GetProperty("op").GetString());
        Assert.Equal("news", first.GetProperty("room").GetString());
        Assert.Equal("alice", first.GetProperty("from").GetString());
        Assert.Equal(1, first.GetProperty("data").GetProperty("n").GetInt32());
    }

    [Fact]
    public async Task HistoryWithALimitReturnsTheLatestPublications()
    {
        await using var alice = await _server.ConnectAsync("alice");
        await JoinAndPublishAsync(alice, "news", 5);

        var history = await alice.RequestAsync("""{"op":"history","room":"news","limit":2}""");
        Assert.Equal([4UL, 5UL], Offsets(history));
        Assert.Equal(5UL, history.GetProperty("offset").GetUInt64());
    }

    [Fact]
    public async Task HistoryLimitAboveTheRetainedSizeIsCappedAtTheSize()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Switchboard:History:Size"] = "3" });
        await using var alice = await server.ConnectAsync("alice");
        await JoinAndPublishAsync(alice, "news", 5);

        var history = await alice.RequestAsync("""{"op":"history","room":"news","limit":1000}""");
        Assert.Equal([3UL, 4UL, 5UL], Offsets(history));
    }

    [Fact]
    public async Task HistorySinceAPositionReturnsWhatFollowsItAndRecovered()
    {
        await using var alice = await _server.ConnectAsync("alice");
        var epoch = await JoinAndPublishAsync(alice, "news", 5);

        var history = await alice.RequestAsync(Since("history", "news", 2, epoch));
        Assert.True(history.GetProperty("recovered").GetBoolean());
        Assert.Equal([3UL, 4UL, 5UL], Offsets(history));
    }

    [Fact]
    public async Task HistorySinceWithALimitReturnsTheFirstPublicationsAfterItAndIsNotRecovered()
    {
        await using var alice = await _server.ConnectAsync("alice");
        var epoch = await JoinAndPublishAsync(alice, "news", 5);

        var history = await alice.RequestAsync(Since("history", "news", 1, epoch, ",\"limit\":2"));
        Assert.Equal([2UL, 3UL], Offsets(history));
        Assert.False(history.GetProperty("recovered").GetBoolean(), "two of four missed publications do not fill the gap");
    }

    [Fact]
    public async Task HistorySinceTheTopIsRecoveredAndEmpty()
    {
        await using var alice = await _server.ConnectAsync("alice");
        var epoch = await JoinAndPublishAsync(alice, "news", 3);

        var history = await alice.RequestAsync(Since("history", "news", 3, epoch));
        Assert.True(history.GetProperty("recovered").GetBoolean());
        Assert.Empty(Offsets(history));
    }

    [Fact]
    public async Task HistoryOfARoomNeverPublishedToIsEmptyAtOffsetZero()
    {
        await using var alice = await _server.ConnectAsync("alice");
        var history = await alice.RequestAsync("""{"op":"history","room":"silent"}""");
        Assert.Equal(0UL, history.GetProperty("offset").GetUInt64());
        Assert.False(string.IsNullOrEmpty(history.GetProperty("epoch").GetString()));
        Assert.Empty(Offsets(history));
    }

    [Fact]
    public async Task HistoryNeedsNoMembership()
    {
        await using var alice = await _server.ConnectAsync("alice");
        await using var outsider = await _server.ConnectAsync("outsider");
        await JoinAndPublishAsync(alice, "news", 2);

        Assert.Equal([1UL, 2UL], Offsets(await outsider.RequestAsync("""{"op":"history","room":"news"}""")));
    }

    // ---- recovery on join ----

    [Fact]
    public async Task JoinSinceAPositionInTheSameEpochRecoversExactlyTheMissedPublications()
    {
        await using var alice = await _server.ConnectAsync("alice");
        await using var bob = await _server.ConnectAsync("bob");
        var epoch = await JoinAndPublishAsync(bob, "news", 7);

        var joined = await alice.RequestAsync(Since("join", "news", 4, epoch));
        Assert.True(joined.GetProperty("recovered").GetBoolean());
        Assert.Equal(7UL, joined.GetProperty("offset").GetUInt64());
        Assert.Equal(epoch, joined.GetProperty("epoch").GetString());
        Assert.Equal([5UL, 6UL, 7UL], Offsets(joined));
        Assert.Equal([5, 6, 7], joined.GetProperty("publications").EnumerateArray().Select(p => p.GetProperty("data").GetProperty("n").GetInt32()));

        // Live delivery continues right after the recovered range.
        await bob.RequestAsync("""{"op":"publish","room":"news","data":{"n":8}}""");
        Assert.Equal(8UL, (await alice.ExpectAsync("message")).GetProperty("offset").GetUInt64());
    }

    [Fact]
    public async Task JoinWithoutSinceCarriesNoRecoveryFields()
    {
        await using var alice = await _server.ConnectAsync("alice");
        await using var bob = await _server.ConnectAsync("bob");
        await JoinAndPublishAsync(bob, "news", 2);

        var joined = await alice.RequestAsync("""{"op":"join","room":"news"}""");
        Assert.Equal(["op", "id", "room", "offset", "epoch"], joined.EnumerateObject().Select(p => p.Name));
        Assert.Equal(2UL, joined.GetProperty("offset").GetUInt64());
    }

    [Fact]
    public async Task JoinSinceTheCurrentTopIsRecoveredWithNothingToReplay()
    {
        await using var alice = await _server.ConnectAsync("alice");
        await using var bob = await _server.ConnectAsync("bob");
        var epoch = await JoinAndPublishAsync(bob, "news", 3);

        var joined = await alice.RequestAsync(Since("join", "news", 3, epoch));
        Assert.True(joined.GetProperty("recovered").GetBoolean());
        Assert.Empty(Offsets(joined));
    }

    [Fact]
    public async Task JoinWithAnotherEpochIsNotRecovered()
    {
        await using var alice = await _server.ConnectAsync("alice");
        await using var bob = await _server.ConnectAsync("bob");
        var epoch = await JoinAndPublishAsync(bob, "news", 3);

        var joined = await alice.RequestAsync(Since("join", "news", 1, "0123456789abcdef"));
        Assert.False(joined.GetProperty("recovered").GetBoolean());
        Assert.Equal(3UL, joined.GetProperty("offset").GetUInt64());
        Assert.Equal(epoch, joined.GetProperty("epoch").GetString());
    }

    [Fact]
    public async Task JoinSinceAnOffsetAheadOfTheStreamIsNotRecovered()
    {
        await using var alice = await _server.ConnectAsync("alice");
        await using var bob = await _server.ConnectAsync("bob");
        var epoch = await JoinAndPublishAsync(bob, "news", 3);

        var joined = await alice.RequestAsync(Since("join", "news", 10, epoch));
        Assert.False(joined.GetProperty("recovered").GetBoolean());
        Assert.Equal(3UL, joined.GetProperty("offset").GetUInt64());
    }

    [Fact]
    public async Task JoinSinceAPositionOlderThanTheRetainedHistoryIsNotRecovered()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Switchboard:History:Size"] = "3" });
        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");
        var epoch = await JoinAndPublishAsync(bob, "news", 10);

        var joined = await alice.RequestAsync(Since("join", "news", 1, epoch));
        Assert.False(joined.GetProperty("recovered").GetBoolean());
        Assert.Equal(10UL, joined.GetProperty("offset").GetUInt64());
        // What is retained still comes with the reply, so the client can show something.
        Assert.Equal([8UL, 9UL, 10UL], Offsets(joined));
    }

    [Fact]
    public async Task JoinSinceAPositionJustInsideTheRetainedHistoryIsRecovered()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Switchboard:History:Size"] = "3" });
        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");
        var epoch = await JoinAndPublishAsync(bob, "news", 10);

        var joined = await alice.RequestAsync(Since("join", "news", 7, epoch));
        Assert.True(joined.GetProperty("recovered").GetBoolean());
        Assert.Equal([8UL, 9UL, 10UL], Offsets(joined));
    }

    [Fact]
    public async Task JoinSinceWithoutIdDeliversTheMissedPublicationsAsMessagesBeforeLaterOnes()
    {
        await using var alice = await _server.ConnectAsync("alice");
        await using var bob = await _server.ConnectAsync("bob");
        var epoch = await JoinAndPublishAsync(bob, "news", 4);

        await alice.SendAsync($$$"""{"op":"join","room":"news","since":{"offset":1,"epoch":"{{{epoch}}}"}}""");
        // Commands run in order: this reply means the join has been handled.
        await alice.RequestAsync("""{"op":"presence","room":"news"}""");
        await bob.RequestAsync("""{"op":"publish","room":"news","data":{"n":5}}""");

        var offsets = new List<ulong>();
        for (var i = 0; i < 4; i++)
        {
            var message = await alice.ExpectAsync("message");
            Assert.Equal("bob", message.GetProperty("from").GetString());
            offsets.Add(message.GetProperty("offset").GetUInt64());
        }

        Assert.Equal([2UL, 3UL, 4UL, 5UL], offsets);
        lock (alice.RawTextFrames)
        {
            Assert.DoesNotContain(alice.RawTextFrames, f => f.Contains("\"op\":\"reply\",\"offset\"", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task JoinConcurrentWithAStreamOfPublicationsSeesEveryLaterOffsetExactlyOnceInOrder()
    {
        const int total = 500;
        const int joiners = 20;
        await using var publisher = await _server.ConnectAsync("publisher");
        await publisher.RequestAsync("""{"op":"join","room":"firehose"}""");

        var clients = new ProtocolClient[joiners];
        for (var j = 0; j < joiners; j++)
        {
            clients[j] = await _server.ConnectAsync("joiner" + j);
        }

        try
        {
            // Joiner j is released once publication j * step has been acknowledged, so the joins are
            // spread over the whole stream; the publications in between stream without waiting, so
            // each join races with publications the server is still handling.
            const int step = total / joiners;
            var released = Enumerable.Range(0, joiners).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
            var joins = clients.Select((client, j) => Task.Run(async () =>
            {
                await released[j].Task;
                var reply = await client.RequestAsync("""{"op":"join","room":"firehose"}""");
                var top = reply.GetProperty("offset").GetUInt64();
                var seen = new List<ulong>();
                for (var expected = top + 1; expected <= total; expected++)
                {
                    seen.Add((await client.ExpectAsync("message")).GetProperty("offset").GetUInt64());
                }

                return (Top: top, Seen: seen);
            })).ToArray();

            released[0].SetResult();
            for (var i = 1; i <= total; i++)
            {
                var publish = "{\"op\":\"publish\",\"room\":\"firehose\",\"data\":" + i + "}";
                if (i % step == 0)
                {
                    await publisher.RequestAsync(publish);
                    if (i / step < joiners)
                    {
                        released[i / step].SetResult();
                    }
                }
                else
                {
                    await publisher.SendAsync(publish);
                }
            }

            var results = await Task.WhenAll(joins).WaitAsync(TimeSpan.FromSeconds(30));
            for (var j = 0; j < joiners; j++)
            {
                var (top, seen) = results[j];
                Assert.True(top >= (ulong)(j * step), $"joiner {j} joined after {j * step} acknowledged publications but its reply said {top}");
                var expected = Enumerable.Range((int)top + 1, total - (int)top).Select(o => (ulong)o);
                Assert.True(expected.SequenceEqual(seen), $"joiner {j} joined at {top} and saw [{string.Join(",", seen)}]");
            }

            // No joiner received anything beyond the stream's end: the publisher's next message is the last.
            var marker = await publisher.RequestAsync("""{"op":"publish","room":"firehose","data":"end"}""");
            Assert.Equal((ulong)total + 1, marker.GetProperty("offset").GetUInt64());
            foreach (var client in clients)
            {
                var next = await client.ExpectAsync("message");
                Assert.Equal((ulong)total + 1, next.GetProperty("offset").GetUInt64());
            }

            Assert.Contains(results, r => r.Top > 0 && r.Top < total);
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    // ---- the HTTP history API ----

    [Fact]
    public async Task HttpHistoryReturnsTheHistoryReplyObject()
    {
        var epoch = await HttpPublishAsync("feed", 5);

        using var all = await GetHistoryAsync("feed", "");
        Assert.Equal(5UL, all.RootElement.GetProperty("offset").GetUInt64());
        Assert.Equal(epoch, all.RootElement.GetProperty("epoch").GetString());
        Assert.Equal([1UL, 2UL, 3UL, 4UL, 5UL], Offsets(all.RootElement));
        Assert.Equal(JsonValueKind.Null, all.RootElement.GetProperty("publications")[0].GetProperty("from").ValueKind);
        Assert.False(all.RootElement.TryGetProperty("recovered", out _));
    }

    [Fact]
    public async Task HttpHistoryHonoursSinceAndLimit()
    {
        var epoch = await HttpPublishAsync("feed", 5);

        using var since = await GetHistoryAsync("feed", "?since=2");
        Assert.Equal([3UL, 4UL, 5UL], Offsets(since.RootElement));
        Assert.True(since.RootElement.GetProperty("recovered").GetBoolean());

        using var sinceWithEpoch = await GetHistoryAsync("feed", $"?since=2&epoch={epoch}");
        Assert.Equal([3UL, 4UL, 5UL], Offsets(sinceWithEpoch.RootElement));
        Assert.True(sinceWithEpoch.RootElement.GetProperty("recovered").GetBoolean());

        using var limited = await GetHistoryAsync("feed", "?limit=2");
        Assert.Equal([4UL, 5UL], Offsets(limited.RootElement));

        using var both = await GetHistoryAsync("feed", "?since=1&limit=2");
        Assert.Equal([2UL, 3UL], Offsets(both.RootElement));
        Assert.False(both.RootElement.GetProperty("recovered").GetBoolean());

        using var otherEpoch = await GetHistoryAsync("feed", "?since=2&epoch=0000000000000000");
        Assert.False(otherEpoch.RootElement.GetProperty("recovered").GetBoolean());
    }

    [Theory]
    [InlineData("feed?limit=0", "invalid_field")]
    [InlineData("feed?limit=-3", "invalid_field")]
    [InlineData("bad%20room", "invalid_room")]
    public async Task HttpHistoryRejectsBadArguments(string path, string code)
    {
        var parts = path.Split('?');
        using var response = await _server.Http.GetAsync(new Uri($"api/rooms/{parts[0]}/history" + (parts.Length > 1 ? "?" + parts[1] : ""), UriKind.Relative));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(code, body.RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task HttpPublicationsReachMembersWithANullFromInTheSameStream()
    {
        await using var alice = await _server.ConnectAsync("alice");
        var joined = await alice.RequestAsync("""{"op":"join","room":"feed"}""");
        var epoch = await HttpPublishAsync("feed", 1);
        Assert.Equal(joined.GetProperty("epoch").GetString(), epoch);

        var message = await alice.ExpectAsync("message");
        Assert.Equal(1UL, message.GetProperty("offset").GetUInt64());
        Assert.Equal(JsonValueKind.Null, message.GetProperty("from").ValueKind);
        Assert.Equal(1, message.GetProperty("data").GetProperty("n").GetInt32());
    }

    // ---- retention in time ----

    [Fact]
    public async Task ForgottenStreamLosesItsPublicationsAndStartsANewEpoch()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Switchboard:History:TtlSeconds"] = "0.3" });
        var broker = server.Services.GetRequiredService<MemoryBroker>();
        using var published = await server.Http.PostAsJsonAsync(new Uri("api/publish", UriKind.Relative), new { room = "ephemeral", data = 1 });
        using var first = JsonDocument.Parse(await published.Content.ReadAsStringAsync());
        var oldEpoch = first.RootElement.GetProperty("epoch").GetString();
        Assert.Equal(1UL, first.RootElement.GetProperty("offset").GetUInt64());

        await Eventually.TrueAsync(() => broker.StreamCount == 0, "the idle stream is forgotten");

        using var history = await GetHistoryAsync(server, "ephemeral", "");
        Assert.Empty(Offsets(history.RootElement));
        Assert.Equal(0UL, history.RootElement.GetProperty("offset").GetUInt64());
        Assert.NotEqual(oldEpoch, history.RootElement.GetProperty("epoch").GetString());

        using var again = await server.Http.PostAsJsonAsync(new Uri("api/publish", UriKind.Relative), new { room = "ephemeral", data = 2 });
        using var second = JsonDocument.Parse(await again.Content.ReadAsStringAsync());
        Assert.Equal(1UL, second.RootElement.GetProperty("offset").GetUInt64());
        Assert.NotEqual(oldEpoch, second.RootElement.GetProperty("epoch").GetString());

        // A client that held the old epoch learns that recovery failed.
        await using var alice = await server.ConnectAsync("alice");
        var joined = await alice.RequestAsync(Since("join", "ephemeral", 1, oldEpoch!));
        Assert.False(joined.GetProperty("recovered").GetBoolean());
    }

    [Fact]
    public async Task ExpiredPublicationsDisappearWhileAMemberKeepsTheEpoch()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Switchboard:History:TtlSeconds"] = "0.3" });
        await using var alice = await server.ConnectAsync("alice");
        var epoch = await JoinAndPublishAsync(alice, "kept", 2);

        await Eventually.TrueAsync(() => RetainedCount(server.Hub, "kept") == 0, "the publications expire");

        var history = await alice.RequestAsync(Since("history", "kept", 0, epoch));
        Assert.Equal(epoch, history.GetProperty("epoch").GetString());
        Assert.Equal(2UL, history.GetProperty("offset").GetUInt64());
        Assert.Empty(Offsets(history));
        Assert.False(history.GetProperty("recovered").GetBoolean(), "expired publications cannot be recovered");

        var published = await alice.RequestAsync("""{"op":"publish","room":"kept","data":3}""");
        Assert.Equal(3UL, published.GetProperty("offset").GetUInt64());
        Assert.Equal(epoch, published.GetProperty("epoch").GetString());
    }

    // ---- helpers ----

    /// <summary>Joins <paramref name="room"/>, publishes <c>{"n":1}</c> to <c>{"n":count}</c> with acks, returns the epoch.</summary>
    private static async Task<string> JoinAndPublishAsync(ProtocolClient client, string room, int count)
    {
        var joined = await client.RequestAsync($$"""{"op":"join","room":"{{room}}"}""");
        Assert.Equal("reply", joined.GetProperty("op").GetString());
        for (var n = 1; n <= count; n++)
        {
            var reply = await client.RequestAsync($$$"""{"op":"publish","room":"{{{room}}}","data":{"n":{{{n}}}}}""");
            Assert.Equal("reply", reply.GetProperty("op").GetString());
        }

        return joined.GetProperty("epoch").GetString()!;
    }

    private async Task<string> HttpPublishAsync(string room, int count)
    {
        string? epoch = null;
        for (var n = 1; n <= count; n++)
        {
            using var response = await _server.Http.PostAsJsonAsync(new Uri("api/publish", UriKind.Relative), new { room, data = new { n } });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            epoch = body.RootElement.GetProperty("epoch").GetString();
        }

        return epoch!;
    }

    private Task<JsonDocument> GetHistoryAsync(string room, string query) => GetHistoryAsync(_server, room, query);

    private static async Task<JsonDocument> GetHistoryAsync(TestServer server, string room, string query)
    {
        using var response = await server.Http.GetAsync(new Uri($"api/rooms/{room}/history{query}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync());
    }

    private static string Since(string op, string room, ulong offset, string epoch, string extra = "") =>
        $$$"""{"op":"{{{op}}}","room":"{{{room}}}","since":{"offset":{{{offset}}},"epoch":"{{{epoch}}}"}{{{extra}}}}""";

    private static List<ulong> Offsets(JsonElement reply) =>
        reply.GetProperty("publications").EnumerateArray().Select(p => p.GetProperty("offset").GetUInt64()).ToList();

    /// <summary>How many publications the room retains, read straight from the in-memory broker (which answers synchronously).</summary>
    private static int RetainedCount(SwitchboardHub hub, string room)
    {
        var read = hub.HistoryAsync(room, null, null, CancellationToken.None);
        return read.IsCompletedSuccessfully
            ? read.Result.Publications.Count
            : throw new InvalidOperationException("the in-memory broker answers synchronously");
    }
}
