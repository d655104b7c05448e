using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;

namespace Switchboard.Tests.Infrastructure;

/// <summary>
/// A real <see cref="ClientWebSocket"/> on a TCP socket with a small receive buffer, which reads only
/// when a test asks it to. While it does not read, the server's writes to it stall after a few
/// kilobytes instead of vanishing into megabytes of kernel buffers.
/// </summary>
public sealed class SmallWindowWebSocket : IDisposable
{
    private readonly HttpMessageInvoker _invoker;
    private readonly byte[] _buffer = new byte[64 * 1024];

    private SmallWindowWebSocket(ClientWebSocket socket, HttpMessageInvoker invoker)
    {
        Socket = socket;
        _invoker = invoker;
    }

    public ClientWebSocket Socket { get; }

    public static async Task<SmallWindowWebSocket> ConnectAsync(Uri uri, int receiveBufferBytes = 4096)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
                {
                    NoDelay = true,
                    // Set before connecting, so that the window the server sees is small from the start.
                    ReceiveBufferSize = receiveBufferBytes,
                };
                try
                {
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        var invoker = new HttpMessageInvoker(handler);
        var client = new ClientWebSocket();
        try
        {
            using var timeout = new CancellationTokenSource(ProtocolClient.DefaultTimeout);
            await client.ConnectAsync(uri, invoker, timeout.Token);
            return new SmallWindowWebSocket(client, invoker);
        }
        catch
        {
            client.Dispose();
            invoker.Dispose();
            throw;
        }
    }

    public async Task SendTextAsync(string text)
    {
        using var timeout = new CancellationTokenSource(ProtocolClient.DefaultTimeout);
        await Socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
    }

    /// <summary>
    /// Reads messages until the server's close frame, giving each text line to <paramref name="onLine"/>,
    /// then answers the close and returns the status the server sent.
    /// </summary>
    public async Task<WebSocketCloseStatus?> ReadUntilClosedAsync(Action<string> onLine, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(onLine);
        using var deadline = new CancellationTokenSource(timeout ?? ProtocolClient.DefaultTimeout);
        while (true)
        {
            var (type, text) = await ReceiveMessageAsync(deadline.Token);
            if (type == WebSocketMessageType.Close)
            {
                await Socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, deadline.Token);
                return Socket.CloseStatus;
            }

            foreach (var line in text.Split('\n'))
            {
                onLine(line);
            }
        }
    }

    /// <summary>Reads messages until a text line satisfies <paramref name="match"/>, and returns it.</summary>
    public async Task<string> ReadLineAsync(Func<string, bool> match, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(match);
        using var deadline = new CancellationTokenSource(timeout ?? ProtocolClient.DefaultTimeout);
        while (true)
        {
            var (type, text) = await ReceiveMessageAsync(deadline.Token);
            if (type == WebSocketMessageType.Close)
            {
                throw new IOException("the server closed the connection with " + Socket.CloseStatus);
            }

            if (text.Split('\n').FirstOrDefault(match) is { } line)
            {
                return line;
            }
        }
    }

    public void Dispose()
    {
        Socket.Dispose();
        _invoker.Dispose();
    }

    private async Task<(WebSocketMessageType Type, string Text)> ReceiveMessageAsync(CancellationToken cancellationToken)
    {
        using var message = new MemoryStream();
        ValueWebSocketReceiveResult result;
        do
        {
            result = await Socket.ReceiveAsync(_buffer.AsMemory(), cancellationToken);
            message.Write(_buffer, 0, result.Count);
        }
        while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

        return (result.MessageType, Encoding.UTF8.GetString(message.GetBuffer(), 0, (int)message.Length));
    }
}
