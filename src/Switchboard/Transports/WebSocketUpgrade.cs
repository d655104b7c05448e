using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Switchboard.Options;

namespace Switchboard.Transports;

/// <summary>
/// Completes an HTTP/1.1 WebSocket upgrade (RFC 6455 section 4.2.2) as the framework's middleware
/// does, except that the socket runs over a <see cref="LingeringStream"/> the transport keeps, so a
/// close the framework sends on bad input is not destroyed by a reset. Any other upgrade (HTTP/2
/// extended CONNECT) goes through the framework, without the linger.
/// </summary>
internal static class WebSocketUpgrade
{
    private const string AcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    public static async Task<(WebSocket Socket, LingeringStream? Stream)> AcceptAsync(HttpContext context, WebSocketAcceptContext accept, CompressionOptions compression)
    {
        var upgrade = context.Features.Get<IHttpUpgradeFeature>();
        var key = context.Request.Headers.SecWebSocketKey.ToString();
        if (upgrade is not { IsUpgradableRequest: true } || key.Length == 0)
        {
            // The framework negotiates deflate itself here; it never asks the client to drop its context.
            accept.DangerousEnableCompression = compression.Enabled;
            accept.DisableServerContextTakeover = !compression.ContextTakeover;
            accept.ServerMaxWindowBits = compression.WindowBits;
            return (await context.WebSockets.AcceptWebSocketAsync(accept).ConfigureAwait(false), null);
        }

        // As the framework's accept does: a long-lived socket is not a request that may time out.
        context.Features.Get<Microsoft.AspNetCore.Http.Timeouts.IHttpRequestTimeoutFeature>()?.DisableTimeout();
        var headers = context.Response.Headers;
        headers.Connection = "Upgrade";
        headers.Upgrade = "websocket";
#pragma warning disable CA5350 // RFC 6455 fixes SHA-1 here; the accept key protects nothing, it only proves the server speaks WebSocket.
        headers.SecWebSocketAccept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + AcceptGuid)));
#pragma warning restore CA5350
        if (accept.SubProtocol is { } subProtocol)
        {
            headers.SecWebSocketProtocol = subProtocol;
        }

        WebSocketDeflateOptions? deflate = null;
        if (compression.Enabled && DeflateNegotiation.TryNegotiate(context.Request.Headers.SecWebSocketExtensions, compression, out deflate, out var extension))
        {
            headers.SecWebSocketExtensions = extension;
        }

        var stream = new LingeringStream(await upgrade.UpgradeAsync().ConfigureAwait(false), context.Abort);
        var socket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions
        {
            IsServer = true,
            SubProtocol = accept.SubProtocol,
            KeepAliveInterval = accept.KeepAliveInterval ?? TimeSpan.FromSeconds(30),
            KeepAliveTimeout = accept.KeepAliveTimeout ?? Timeout.InfiniteTimeSpan,
            DangerousDeflateOptions = deflate,
        });
        return (socket, stream);
    }
}
