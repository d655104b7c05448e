using Xunit;

namespace Switchboard.Tests.Infrastructure;

/// <summary>Opens protocol sessions on any <see cref="SessionTransport"/>, and the theory data that runs a test over all of them.</summary>
public static class SessionClients
{
    /// <summary>Every transport, for <c>[MemberData(nameof(SessionClients.All), MemberType = typeof(SessionClients))]</c>.</summary>
    public static TheoryData<SessionTransport> All => new(SessionTransport.WebSocket, SessionTransport.ServerSentEvents, SessionTransport.HttpStream);

    /// <summary>The HTTP streams only.</summary>
    public static TheoryData<SessionTransport> HttpStreams => new(SessionTransport.ServerSentEvents, SessionTransport.HttpStream);

    /// <summary>
    /// Opens a session with <paramref name="query"/> (for example <c>user=alice</c>) and
    /// <paramref name="headers"/> (sent with the upgrade, or with the stream and every POST), without
    /// reading anything.
    /// </summary>
    public static async Task<ISessionClient> OpenAsync(this TestServer server, SessionTransport transport, string query, IReadOnlyDictionary<string, string>? headers = null)
    {
        ArgumentNullException.ThrowIfNull(server);
        return transport switch
        {
            SessionTransport.WebSocket => new WebSocketSessionClient(await ProtocolClient.ConnectAsync(server.Ws("ws?" + query), o =>
            {
                foreach (var (name, value) in headers ?? new Dictionary<string, string>())
                {
                    o.SetRequestHeader(name, value);
                }
            })),
            SessionTransport.ServerSentEvents => await HttpStreamClient.OpenAsync(server.BaseUri, "events?" + query, headers),
            _ => await HttpStreamClient.OpenAsync(server.BaseUri, "stream?" + query, headers),
        };
    }

    /// <summary>Opens a session as <paramref name="user"/> (the development <c>?user=</c>) and reads its welcome.</summary>
    public static async Task<ISessionClient> ConnectAsync(this TestServer server, SessionTransport transport, string user = "alice")
    {
        var client = await server.OpenAsync(transport, "user=" + Uri.EscapeDataString(user));
        await client.ExpectAsync("welcome");
        return client;
    }
}
