using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;

namespace Switchboard.Tests.Infrastructure;

/// <summary>
/// A real <see cref="ClientWebSocket"/> that reads only when a test asks it to, with no background
/// loop. Connected through a shared <see cref="HttpMessageInvoker"/> it is cheap enough to open by the
/// thousand; through <see cref="SmallWindowInvoker"/> its TCP receive buffer is so small that the
/// server's writes stall after a few kilobytes while it does not read.
/// </summary>
public sealed class ManualWebSocket : IDisposable
{
    private readonly HttpMessageInvoker? _ownedInvoker;
    private readonly byte[] _buffer = new byte[16 * 1024];

    private ManualWebSocket(ClientWebSocket socket, HttpMessageInvoker? ownedInvoker)
    {
        Socket = socket;
        _ownedInvoker = ownedInvoker;
    }

    public ClientWebSocket Socket { get; }

    /// <summary>Connects through <paramref name="invoker"/>, which the caller keeps and may share; without one, through a private default handler.</summary>
    public static async Task<ManualWebSocket> ConnectAsync(Uri uri, HttpMessageInvoker? invoker = null)
    {
        var owned = invoker is null ? new HttpMessageInvoker(new SocketsHttpHandler()) : null;
        var client = new ClientWebSocket();
        try
        {
            using var timeout = new CancellationTokenSource(ProtocolClient.DefaultTimeout);
            await client.ConnectAsync(uri, invoker ?? owned!, timeout.Token);
            return new ManualWebSocket(client, owned);
        }
        catch
        {
            client.Dispose();
            owned?.Dispose();
            throw;
        }
    }

    /// <summary>An invoker whose connections have a TCP receive buffer of about <paramref name="receiveBufferBytes"/>.</summary>
    public static HttpMessageInvoker SmallWindowInvoker(int receiveBufferBytes = 4096) => new(new SocketsHttpHandler
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
    });

    public async Task SendTextAsync(string text)
    {
        using var timeout = new CancellationTokenSource(ProtocolClient.DefaultTimeout);
        await Socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
    }

    /// <summary>Reads messages until a text line (frames are split on newlines) satisfies <paramref name="match"/>, and returns it.</summary>
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

    public void Dispose()
    {
        Socket.Dispose();
        _ownedInvoker?.Dispose();
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
