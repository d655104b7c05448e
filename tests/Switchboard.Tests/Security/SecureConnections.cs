using System.Net.WebSockets;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Security;

/// <summary>Starting nodes with security on, and connecting to them the ways real clients do.</summary>
public static class SecureConnections
{
    /// <summary>The subprotocol the server selects when a browser offers it.</summary>
    public const string SubProtocol = "switchboard.v1";

    /// <summary>
    /// A node that trusts <paramref name="tokens"/> and nothing else: the test defaults' anonymous
    /// access and <c>?user=</c> are turned off. <paramref name="extra"/> is applied last.
    /// </summary>
    public static Task<TestServer> StartTokenOnlyServerAsync(TokenFactory tokens, IDictionary<string, string?>? extra = null)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var settings = new Dictionary<string, string?>(tokens.ServerSettings)
        {
            ["Switchboard:Auth:AllowAnonymous"] = "false",
            ["Switchboard:Auth:AllowQueryUser"] = "false",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return TestServer.StartAsync(settings);
    }

    /// <summary>Opens <c>/ws</c> (or <paramref name="path"/>) with <paramref name="token"/> carried by <paramref name="via"/>; reads nothing.</summary>
    public static Task<ProtocolClient> OpenWithTokenAsync(this TestServer server, string token, TokenTransport via = TokenTransport.Header, string path = "ws")
    {
        ArgumentNullException.ThrowIfNull(server);
        return via switch
        {
            TokenTransport.Header => ProtocolClient.ConnectAsync(server.Ws(path), o => o.SetRequestHeader("Authorization", "Bearer " + token)),
            TokenTransport.SubProtocol => ProtocolClient.ConnectAsync(server.Ws(path), o =>
            {
                o.AddSubProtocol(SubProtocol);
                o.AddSubProtocol("bearer." + token);
            }),
            _ => ProtocolClient.ConnectAsync(server.Ws(path + (path.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "token=" + Uri.EscapeDataString(token))),
        };
    }

    /// <summary>Opens <c>/ws</c> with <paramref name="token"/> and reads the welcome, which must name <paramref name="user"/>.</summary>
    public static async Task<ProtocolClient> ConnectWithTokenAsync(this TestServer server, string token, string user, TokenTransport via = TokenTransport.Header)
    {
        var client = await server.OpenWithTokenAsync(token, via);
        try
        {
            var welcome = await client.ExpectAsync("welcome");
            Assert.Equal(user, welcome.GetProperty("user").GetString());
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    /// <summary>Waits for the server to close <paramref name="client"/>; returns the numeric close code and the reason.</summary>
    public static async Task<(int? Code, string? Reason)> ClosedWithAsync(this ProtocolClient client, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        var status = await client.WaitForCloseAsync(timeout);
        return ((int?)status, client.Socket.CloseStatusDescription);
    }

    /// <summary>Asserts that <paramref name="client"/> was closed with <paramref name="code"/> and a non-empty reason, which is returned.</summary>
    public static async Task<string> AssertClosedWithAsync(this ProtocolClient client, int code, TimeSpan? timeout = null)
    {
        var (actual, reason) = await client.ClosedWithAsync(timeout);
        Assert.True(actual == code, $"expected close code {code}, got {actual?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"} ({reason})");
        Assert.False(string.IsNullOrEmpty(reason), "a refusal carries a reason the client can show");
        return reason!;
    }

    /// <summary>Whether the socket is still open from the client's side.</summary>
    public static bool IsOpen(this ProtocolClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        return client.Socket.State == WebSocketState.Open && !client.Closed.Task.IsCompleted;
    }
}
