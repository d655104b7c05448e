using System.Net.Http.Json;
using System.Text.Json;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Lifetime;

/// <summary>One publication reaches every member; concurrent publications get one order that every member sees.</summary>
[Trait("Category", "integration")]
public sealed class FanOutAndOrderTests : IAsyncLifetime
{
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task BroadcastThroughTheHttpApiReachesAThousandConnectionsInOneRoom()
    {
        const int Members = 1000;
        // One shared handler keeps a thousand handshakes cheap. Twenty users with fifty connections
        // each (under Limits:MaxConnectionsPerUser): presence events go out only for a user's first
        // connection, so joining stays linear instead of telling every member about every other member.
        using var invoker = new HttpMessageInvoker(new SocketsHttpHandler());
        var members = new ManualWebSocket?[Members];
        try
        {
            using var gate = new SemaphoreSlim(16);
            await Task.WhenAll(Enumerable.Range(0, Members).Select(async i =>
            {
                Assert.True(await gate.WaitAsync(TimeSpan.FromSeconds(30)), "a connection slot came free");
                try
                {
                    var member = members[i] = await ManualWebSocket.ConnectAsync(_server.Ws("ws?user=fan" + (i % 20)), invoker);
                    await member.SendTextAsync("""{"op":"join","room":"stadium","id":1}""");
                    await member.ReadLineAsync(line => line.StartsWith("""{"op":"reply","id":1""", StringComparison.Ordinal));
                }
                finally
                {
                    gate.Release();
                }
            })).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(("stadium", Members, 20), _server.Hub.Rooms().Single());

            using var response = await _server.Http.PostAsJsonAsync(new Uri("api/publish", UriKind.Relative), new { room = "stadium", data = new { text = "goal" } });

            response.EnsureSuccessStatusCode();
            using var position = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal(1UL, position.RootElement.GetProperty("offset").GetUInt64());
            var received = await Task.WhenAll(members.Select(member =>
                member!.ReadLineAsync(line => line.StartsWith("""{"op":"message",""", StringComparison.Ordinal)))).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.All(received, line =>
            {
                using var message = JsonDocument.Parse(line);
                Assert.Equal(1UL, message.RootElement.GetProperty("offset").GetUInt64());
                Assert.Equal(JsonValueKind.Null, message.RootElement.GetProperty("from").ValueKind);
                Assert.Equal("goal", message.RootElement.GetProperty("data").GetProperty("text").GetString());
            });
        }
        finally
        {
            foreach (var member in members)
            {
                member?.Socket.Abort();
                member?.Dispose();
            }
        }

        await _server.AssertNothingRemainsAsync();
    }

    [Fact]
    public async Task ConcurrentPublishersGetOneOrderThatEveryMemberReceivesWhole()
    {
        const int Publishers = 4;
        const int PerPublisher = 250;
        const int Total = Publishers * PerPublisher;
        var listeners = await ConnectAndJoinAsync(10, i => "listener" + i, "orderly");
        var publishers = await ConnectAndJoinAsync(Publishers, i => "publisher" + i, "orderly");
        try
        {
            // Each publisher sends all its commands without waiting for replies, all four at once.
            await Task.WhenAll(publishers.Select((publisher, p) => Task.Run(async () =>
            {
                for (var seq = 1; seq <= PerPublisher; seq++)
                {
                    await publisher.SendAsync($$$"""{"op":"publish","room":"orderly","id":{{{seq}}},"data":{"p":{{{p}}},"seq":{{{seq}}}}}""");
                }
            }))).WaitAsync(TimeSpan.FromSeconds(30));

            foreach (var publisher in publishers)
            {
                var offsets = new List<ulong>();
                for (var seq = 1; seq <= PerPublisher; seq++)
                {
                    var reply = await publisher.ExpectAsync(m => m.GetProperty("op").GetString() == "reply" && m.GetProperty("id").GetInt32() == seq);
                    offsets.Add(reply.GetProperty("offset").GetUInt64());
                }

                Assert.Equal(offsets.Order(), offsets);
            }

            await Task.WhenAll(listeners.Concat(publishers).Select(async member =>
            {
                var received = new List<(ulong Offset, int Publisher, int Seq)>();
                for (var i = 0; i < Total; i++)
                {
                    var message = await member.ExpectAsync("message");
                    var data = message.GetProperty("data");
                    received.Add((message.GetProperty("offset").GetUInt64(), data.GetProperty("p").GetInt32(), data.GetProperty("seq").GetInt32()));
                }

                Assert.Equal(Enumerable.Range(1, Total).Select(i => (ulong)i), received.Select(r => r.Offset));
                for (var p = 0; p < Publishers; p++)
                {
                    Assert.Equal(Enumerable.Range(1, PerPublisher), received.Where(r => r.Publisher == p).Select(r => r.Seq));
                }
            })).WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            await DisposeAllAsync(listeners.Concat(publishers));
        }
    }

    /// <summary>Connects <paramref name="count"/> clients, a few dozen handshakes at a time, each joined to <paramref name="room"/>.</summary>
    private async Task<ProtocolClient[]> ConnectAndJoinAsync(int count, Func<int, string> user, string room)
    {
        using var gate = new SemaphoreSlim(32);
        var clients = new ProtocolClient?[count];
        try
        {
            await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
            {
                Assert.True(await gate.WaitAsync(TimeSpan.FromSeconds(30)), "a connection slot came free");
                try
                {
                    clients[i] = await _server.ConnectAsync(user(i));
                    var joined = await clients[i]!.RequestAsync($$"""{"op":"join","room":"{{room}}"}""");
                    Assert.Equal("reply", joined.GetProperty("op").GetString());
                }
                finally
                {
                    gate.Release();
                }
            })).WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch
        {
            await DisposeAllAsync(clients.OfType<ProtocolClient>());
            throw;
        }

        return clients.Select(c => c!).ToArray();
    }

    private static Task DisposeAllAsync(IEnumerable<ProtocolClient> clients) =>
        Task.WhenAll(clients.Select(c => c.DisposeAsync().AsTask())).WaitAsync(TimeSpan.FromSeconds(30));
}
