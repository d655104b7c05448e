using Switchboard.Client.Tests.Infrastructure;
using Switchboard.Protocol;
using Xunit;

namespace Switchboard.Client.Tests.Integration;

[Trait("Category", "integration")]
public sealed class AuthTests
{
    [Fact]
    public async Task AnInvalidTokenClosesWith4501AndTheClientDoesNotReconnect()
    {
        await using var node = await TestNode.StartAsync(Tokens.ServerSettings());
        var calls = 0;
        var statuses = new List<ConnectionStatus>();
        await using var client = new SwitchboardClient(node.WsUri, new SwitchboardClientOptions
        {
            GetToken = _ =>
            {
                Interlocked.Increment(ref calls);
                return ValueTask.FromResult(Tokens.Create("alice", TimeSpan.FromMinutes(5), secret: "a-different-secret-that-is-long-enough-0123"));
            },
            Backoff = Clients.FastBackoff,
        });
        client.StateChanged += (_, s) => { lock (statuses) { statuses.Add(s); } };

        var error = await Assert.ThrowsAsync<SwitchboardException>(() => client.ConnectAsync().WaitAsync(Wait.Timeout));

        Assert.Equal(ClientErrorCodes.Closed, error.Code);
        Assert.Equal(CloseCodes.Unauthorized, error.CloseCode);
        Assert.Equal(ConnectionState.Closed, client.State);
        Assert.Equal(CloseCodes.Unauthorized, client.Status.CloseCode);
        Assert.Equal(1, calls);
        lock (statuses)
        {
            Assert.DoesNotContain(statuses, s => s.State == ConnectionState.Reconnecting);
        }

        var publish = await Assert.ThrowsAsync<SwitchboardException>(() => client.SendAsync("bob", 1));
        Assert.Equal(ClientErrorCodes.Closed, publish.Code);
    }

    [Fact]
    public async Task TheTokenTravelsInTheSubprotocolAndIsFetchedAgainForEveryReconnect()
    {
        await using var node = await TestNode.StartAsync(Tokens.ServerSettings());
        var calls = 0;
        await using var client = new SwitchboardClient(node.WsUri, new SwitchboardClientOptions
        {
            GetToken = _ =>
            {
                Interlocked.Increment(ref calls);
                return ValueTask.FromResult(Tokens.Create("alice", TimeSpan.FromMinutes(5)));
            },
            Backoff = Clients.FastBackoff,
        });
        await client.ConnectAsync().WaitAsync(Wait.Timeout);
        Assert.Equal("alice", client.User);
        var firstSession = client.SessionId;
        Assert.Equal(1, calls);

        node.Cut("alice");

        await Wait.UntilAsync(() => client.State == ConnectionState.Connected && client.SessionId != firstSession, "the client reconnected");
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task AStaticTokenIsAccepted()
    {
        await using var node = await TestNode.StartAsync(Tokens.ServerSettings());
        await using var client = new SwitchboardClient(node.WsUri, new SwitchboardClientOptions { Token = Tokens.Create("carol", TimeSpan.FromMinutes(5)) });

        await client.ConnectAsync().WaitAsync(Wait.Timeout);

        Assert.Equal("carol", client.User);
    }

    [Fact]
    public async Task AnExpiringTokenIsRefreshedOnTheLiveConnection()
    {
        // No clock skew: the server closes with 4003 at exp unless the refresh replaced the token.
        await using var node = await TestNode.StartAsync(Tokens.ServerSettings(clockSkewSeconds: 0));
        var calls = 0;
        var tokens = new List<string>();
        await using var client = new SwitchboardClient(node.WsUri, new SwitchboardClientOptions
        {
            GetToken = _ =>
            {
                var call = Interlocked.Increment(ref calls);
                var token = Tokens.Create("alice", call == 1 ? TimeSpan.FromSeconds(3) : TimeSpan.FromMinutes(5));
                lock (tokens)
                {
                    tokens.Add(token);
                }

                return ValueTask.FromResult(token);
            },
            Backoff = Clients.FastBackoff,
        });
        var reconnects = 0;
        client.StateChanged += (_, s) => { if (s.State == ConnectionState.Reconnecting) { Interlocked.Increment(ref reconnects); } };
        await client.ConnectAsync().WaitAsync(Wait.Timeout);
        var session = client.SessionId;
        var firstExpiry = JwtExpiry.Read(tokens[0])!.Value;
        var room = client.Join("r");
        await room.Joined.WaitAsync(Wait.Timeout);

        await Wait.UntilAsync(() => Volatile.Read(ref calls) >= 2, "the client fetched a token for the refresh");
        // The deadline check runs four times a second; a round trip after the first token's expiry
        // plus that period shows the connection outlived it.
        await Wait.UntilAsync(() => DateTimeOffset.UtcNow > firstExpiry.AddMilliseconds(500), "the first token expired");
        await room.PublishAsync("still here").WaitAsync(Wait.Timeout);

        Assert.Equal(session, client.SessionId);
        Assert.Equal(ConnectionState.Connected, client.State);
        Assert.Equal(0, Volatile.Read(ref reconnects));
    }
}
