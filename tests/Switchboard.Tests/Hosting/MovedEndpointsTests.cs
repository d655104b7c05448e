using System.Net;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Hosting;

/// <summary>Endpoints mapped at the paths <c>Switchboard:Paths</c> gives them, and no longer at the defaults.</summary>
[Trait("Category", "integration")]
public sealed class MovedEndpointsTests : IAsyncLifetime
{
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync(new Dictionary<string, string?>
    {
        ["Switchboard:Paths:WebSocket"] = "/socket",
        ["Switchboard:Paths:Rooms"] = "/chat/{room}/plain",
        ["Switchboard:Paths:Api"] = "/backend",
        ["Switchboard:Paths:ClientScript"] = "/js/client.js",
        ["Switchboard:Paths:Health"] = "/live",
        ["Switchboard:Paths:Ready"] = "/ready",
        ["Switchboard:Paths:Metrics"] = "/prometheus",
    });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData("backend/rooms", "api/rooms")]
    [InlineData("js/client.js", "switchboard.js")]
    [InlineData("live", "healthz")]
    [InlineData("ready", "readyz")]
    [InlineData("prometheus", "metrics")]
    public async Task AnHttpEndpointAnswersAtItsConfiguredPathAndNotAtTheDefault(string configured, string original)
    {
        using (var moved = await _server.Http.GetAsync(configured))
        {
            Assert.Equal(HttpStatusCode.OK, moved.StatusCode);
        }

        using var old = await _server.Http.GetAsync(original);
        Assert.Equal(HttpStatusCode.NotFound, old.StatusCode);
    }

    [Fact]
    public async Task TheWebSocketEndpointsAnswerAtTheirConfiguredPaths()
    {
        await using var client = await ProtocolClient.ConnectAsync(_server.Ws("socket?user=alice"));
        Assert.Equal("alice", (await client.ExpectAsync("welcome")).GetProperty("user").GetString());

        using var plain = new System.Net.WebSockets.ClientWebSocket();
        await plain.ConnectAsync(_server.Ws("chat/lobby/plain?user=bob"), CancellationToken.None).WaitAsync(ProtocolClient.DefaultTimeout);
        Assert.Equal(System.Net.WebSockets.WebSocketState.Open, plain.State);

        using var old = await _server.Http.GetAsync("ws");
        Assert.Equal(HttpStatusCode.NotFound, old.StatusCode);
    }
}
