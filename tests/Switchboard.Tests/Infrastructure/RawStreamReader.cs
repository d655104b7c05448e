using System.Net.Sockets;
using System.Text;

namespace Switchboard.Tests.Infrastructure;

/// <summary>
/// An HTTP stream read by hand on a raw TCP socket with a small receive buffer, for a reader that
/// stops reading: unlike <see cref="HttpClient"/>, nothing below it keeps draining the socket.
/// </summary>
public sealed class RawStreamReader : IDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly StringBuilder _received = new();
    private readonly byte[] _buffer = new byte[4096];

    private RawStreamReader(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
    }

    /// <summary>Sends <c>GET pathAndQuery</c> and returns without reading.</summary>
    public static async Task<RawStreamReader> OpenAsync(Uri server, string pathAndQuery, int receiveBufferBytes = 4096)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = receiveBufferBytes };
        using var timeout = new CancellationTokenSource(ProtocolClient.DefaultTimeout);
        await socket.ConnectAsync(server.Host, server.Port, timeout.Token);
        var stream = new RawStreamReader(socket);
        await stream._stream.WriteAsync(Encoding.ASCII.GetBytes($"GET {pathAndQuery} HTTP/1.1\r\nHost: {server.Authority}\r\nAccept: text/event-stream\r\n\r\n"), timeout.Token);
        return stream;
    }

    /// <summary>Reads until what was received so far contains <paramref name="text"/>; returns everything received.</summary>
    public async Task<string> ReadUntilAsync(string text)
    {
        using var timeout = new CancellationTokenSource(ProtocolClient.DefaultTimeout);
        while (!_received.ToString().Contains(text, StringComparison.Ordinal))
        {
            var read = await _stream.ReadAsync(_buffer, timeout.Token);
            if (read == 0)
            {
                throw new IOException("the stream ended before " + text);
            }

            _received.Append(Encoding.UTF8.GetString(_buffer, 0, read));
        }

        return _received.ToString();
    }

    /// <summary>Reads and discards until the server closes the connection (true), or the timeout passes (false).</summary>
    public async Task<bool> ReadUntilDisconnectedAsync()
    {
        using var timeout = new CancellationTokenSource(ProtocolClient.DefaultTimeout);
        try
        {
            while (await _stream.ReadAsync(_buffer, timeout.Token) > 0)
            {
            }

            return true;
        }
        catch (IOException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        _stream.Dispose();
        _socket.Dispose();
    }
}
