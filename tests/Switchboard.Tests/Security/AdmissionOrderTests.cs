using System.Net;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Security;

/// <summary>
/// One address cannot starve everyone's admission: its own accept rate and connection count are
/// checked before the node-wide accept bucket, anonymous connections are counted per address, and an
/// IPv6 client is one address for its whole /64.
/// </summary>
[Trait("Category", "integration")]
public sealed class AdmissionOrderTests
{
    private const string A = "203.0.113.1";
    private const string B = "203.0.113.2";

    [Fact]
    public async Task UpgradesRefusedForTheirAddressSpendNothingOfTheNodesAcceptBucket()
    {
        // The node takes 2 upgrades at once (refilled at 2/s); A may hold one connection. A's refused
        // attempts must leave B the second token, however fast or slow they run.
        await using var server = await TestServer.StartAsync(Behind(new()
        {
            ["Switchboard:Limits:AcceptsPerSecond"] = "2",
            ["Switchboard:Limits:MaxConnectionsPerIp"] = "1",
        }));
        await using var a = await ConnectFromAsync(server, A);
        using var handler = new SocketsHttpHandler();
        for (var i = 0; i < 30; i++)
        {
            var refused = await UpgradeProbe.SendAsync(handler, server.BaseUri, "/ws", From(A));
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.Status);
        }

        await using var b = await ConnectFromAsync(server, B);
        Assert.True(b.IsOpen());
    }

    [Fact]
    public async Task AnAddressBeyondItsAcceptRateGets429WithRetryAfterWhileOthersGetIn()
    {
        // A burst of 2 per address, refilled once every 100 s: the third upgrade from A is over its rate.
        await using var server = await TestServer.StartAsync(Behind(new()
        {
            ["Switchboard:Limits:AcceptsPerSecondPerIp"] = "0.01",
            ["Switchboard:Limits:AcceptBurstPerIp"] = "2",
        }));
        await using var first = await ConnectFromAsync(server, A);
        await first.CloseAsync();
        await using var second = await ConnectFromAsync(server, A);

        var third = await UpgradeProbe.SendAsync(server.BaseUri, "/ws", From(A));

        Assert.Equal(HttpStatusCode.TooManyRequests, third.Status);
        Assert.Equal("1", third.RetryAfter);
        Assert.Equal("refused", third.ErrorCode);
        await using var b = await ConnectFromAsync(server, B);
        Assert.True(b.IsOpen());
    }

    [Fact]
    public async Task AnonymousConnectionsAreCountedPerAddressAndNamedUsersAreNot()
    {
        await using var server = await TestServer.StartAsync(Behind(new() { ["Switchboard:Limits:MaxAnonymousConnectionsPerIp"] = "2" }));
        await using var anonymous1 = await ConnectFromAsync(server, A);
        await using var anonymous2 = await ConnectFromAsync(server, A);

        var third = await UpgradeProbe.SendAsync(server.BaseUri, "/ws", From(A));
        Assert.Equal(HttpStatusCode.TooManyRequests, third.Status);
        Assert.Contains("anonymous", third.Body, StringComparison.Ordinal);

        await using var named = await ConnectFromAsync(server, A, "ws?user=alice");
        await using var elsewhere = await ConnectFromAsync(server, B);
        await anonymous1.CloseAsync();
        await Eventually.TrueAsync(() => server.Registry.Count == 3, "the first anonymous connection has gone");
        await using var replacement = await ConnectFromAsync(server, A);
        Assert.True(replacement.IsOpen());
    }

    private static Dictionary<string, string?> Behind(Dictionary<string, string?> settings)
    {
        settings["Switchboard:TrustedProxies:0"] = "127.0.0.1";
        return settings;
    }

    private static Dictionary<string, string> From(string address) => new() { ["X-Forwarded-For"] = address };

    private static async Task<ProtocolClient> ConnectFromAsync(TestServer server, string address, string path = "ws")
    {
        var client = await ProtocolClient.ConnectAsync(server.Ws(path), o => o.SetRequestHeader("X-Forwarded-For", address));
        await client.ExpectAsync("welcome");
        return client;
    }
}
