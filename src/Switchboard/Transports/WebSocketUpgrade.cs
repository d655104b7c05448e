using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Switchboard.Transports;

/// <summary>
/// Completes an HTTP/1.1 WebSocket upgrade (RFC 6455 section 4.2.2) the way the framework's
/// middleware does, except that the socket runs over a <see cref="LingeringStream"/> the transport
/// keeps, so that a close the framework sends on bad input is not destroyed by a reset. Other
/// upgrades (HTTP/2 extended CONNECT) go through the framework as before, without the linger.
/// </summary>
internal static class WebSocketUpgrade
{
    private const string AcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    public static async Task<(WebSocket Socket, LingeringStream? Stream)> AcceptAsync(HttpContext context, WebSocketAcceptContext accept)
    {
        var upgrade = context.Features.Get<IHttpUpgradeFeature>();
        var key = context.Request.Headers.SecWebSocketKey.ToString();
        if (upgrade is not { IsUpgradableRequest: true } || key.Length == 0)
        {
            return (await context.WebSockets.AcceptWebSocketAsync(accept).ConfigureAwait(false), null);
        }

        var headers = context.Response.Headers;
        headers.Connection = "Upgrade";
        headers.Upgrade = "websocket";
#pragma warning disable CA5350 // RFC 6455 fixes SHA-1 for the accept key; it protects nothing and proves only that the server speaks WebSocket.
        headers.SecWebSocketAccept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + AcceptGuid)));
#pragma warning restore CA5350
        if (accept.SubProtocol is { } subProtocol)
        {
            headers.SecWebSocketProtocol = subProtocol;
        }

        var stream = new LingeringStream(await upgrade.UpgradeAsync().ConfigureAwait(false));
        var socket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions
        {
            IsServer = true,
            SubProtocol = accept.SubProtocol,
            KeepAliveInterval = accept.KeepAliveInterval ?? TimeSpan.FromSeconds(30),
            KeepAliveTimeout = accept.KeepAliveTimeout ?? Timeout.InfiniteTimeSpan,
        });
        return (socket, stream);
    }
}
