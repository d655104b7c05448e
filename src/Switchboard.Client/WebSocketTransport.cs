using System.Buffers;
using System.Net.WebSockets;

namespace Switchboard.Client;

/// <summary>A WebSocket to <c>/ws</c>, with the token in the <c>bearer.TOKEN</c> subprotocol.</summary>
internal sealed class WebSocketTransport : IClientTransport
{
    /// <summary>The subprotocol the server selects; a token travels beside it as <c>bearer.TOKEN</c>.</summary>
    private const string SubProtocol = "switchboard.v1";

    private readonly ClientWebSocket _socket = new();
    private readonly Uri _uri;
    private readonly HttpMessageInvoker? _invoker;

    public WebSocketTransport(Uri uri, string? token, SwitchboardClientOptions options, HttpMessageInvoker? invoker)
    {
        _uri = uri;
        _invoker = invoker;
        _socket.Options.AddSubProtocol(SubProtocol);
        _socket.Options.KeepAliveInterval = options.KeepAliveInterval;
        _socket.Options.KeepAliveTimeout = options.KeepAliveTimeout;
        if (options.Compression)
        {
            // The defaults offer what a browser offers ("permessage-deflate; client_max_window_bits")
            // and accept whatever windows and context takeover the server answers within them.
            _socket.Options.DangerousDeflateOptions = new WebSocketDeflateOptions();
        }

        if (token is not null)
        {
            _socket.Options.AddSubProtocol("bearer." + token);
        }
    }

    public ClientTransport Kind => ClientTransport.WebSocket;

    public int MaxBatchBytes => 64 * 1024;

    public bool SupportsBinary => true;

    public (int Code, string? Reason)? LocalClose => null;

    public Task ConnectAsync(CancellationToken cancellationToken) =>
        _invoker is null ? _socket.ConnectAsync(_uri, cancellationToken) : _socket.ConnectAsync(_uri, _invoker, cancellationToken);

    public async ValueTask<TransportMessage> ReceiveAsync(ArrayBufferWriter<byte> buffer, int maxBytes)
    {
        ValueWebSocketReceiveResult result;
        do
        {
            if (buffer.WrittenCount >= maxBytes)
            {
                _socket.Abort();
                return TransportMessage.Close((int)WebSocketCloseStatus.MessageTooBig, "frame larger than MaxReceiveBytes");
            }

            result = await _socket.ReceiveAsync(buffer.GetMemory(8 * 1024), CancellationToken.None).ConfigureAwait(false);
            buffer.Advance(result.Count);
        }
        while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

        return result.MessageType switch
        {
            // The writer echoes the close frame once the owner stops it.
            WebSocketMessageType.Close => TransportMessage.Close((int?)_socket.CloseStatus ?? SwitchboardClient.AbnormalClosure, _socket.CloseStatusDescription),
            WebSocketMessageType.Binary => TransportMessage.Binary,
            _ => TransportMessage.Text,
        };
    }

    public ValueTask SendAsync(ReadOnlyMemory<byte> frame, bool binary) =>
        _socket.SendAsync(frame, binary ? WebSocketMessageType.Binary : WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);

    public async ValueTask CloseOutputAsync(bool closeRequested)
    {
        if (_socket.State == WebSocketState.CloseReceived)
        {
            await _socket.CloseOutputAsync(_socket.CloseStatus ?? WebSocketCloseStatus.NormalClosure, null, CancellationToken.None).ConfigureAwait(false);
        }
        else if (closeRequested && _socket.State == WebSocketState.Open)
        {
            await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "client closed", CancellationToken.None).ConfigureAwait(false);
        }
    }

    public void Abort() => _socket.Abort();

    public void UpdateToken(string token)
    {
        // The subprotocol was sent with the upgrade; a refresh travels as a command on the socket.
    }

    public void Dispose() => _socket.Dispose();
}
