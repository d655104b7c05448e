using System.Buffers.Binary;
using System.Net.Sockets;
using Switchboard.Tests.Hostile;
using Switchboard.Tests.Infrastructure;

namespace Switchboard.Tests.Compression;

/// <summary>
/// A WebSocket peer on a raw TCP socket that may offer permessage-deflate and sees what a client
/// library hides: the negotiated extension and the RSV1 bit (compressed or not) of every frame.
/// </summary>
internal sealed class DeflatePeer : IDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private const byte Rsv1 = 0x40;
    private const byte CloseOpcode = 0x8;

    private readonly Socket _socket;
    private readonly NetworkStream _stream;

    private DeflatePeer(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
    }

    /// <summary>The server's <c>Sec-WebSocket-Extensions</c> answer; null when it accepted no extension.</summary>
    public string? Extensions { get; private set; }

    /// <summary>Upgrades <paramref name="pathAndQuery"/>, offering <paramref name="offer"/> as <c>Sec-WebSocket-Extensions</c> unless null.</summary>
    public static async Task<DeflatePeer> ConnectAsync(Uri server, string pathAndQuery, string? offer = "permessage-deflate")
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        DeflatePeer? peer = null;
        try
        {
            using var timeout = new CancellationTokenSource(Timeout);
            await socket.ConnectAsync(server.Host, server.Port, timeout.Token);
            peer = new DeflatePeer(socket);
            var head = await RawUpgrade.PerformAsync(peer._stream, server, pathAndQuery, timeout.Token,
                offer is null ? [] : ["Sec-WebSocket-Extensions: " + offer]);
            peer.Extensions = head.Split("\r\n")
                .FirstOrDefault(line => line.StartsWith("Sec-WebSocket-Extensions:", StringComparison.OrdinalIgnoreCase))?
                .Split(':', 2)[1].Trim();
            return peer;
        }
        catch
        {
            peer?.Dispose();
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends one masked text message, deflated with RSV1 set when <paramref name="compressed"/>.</summary>
    public async Task SendTextAsync(byte[] message, bool compressed)
    {
        var frame = compressed
            ? RawFrameClient.Frame(0x80 | Rsv1 | 0x1, PerMessageDeflate.Compress(message))
            : RawFrameClient.Frame(0x81, message);
        using var timeout = new CancellationTokenSource(Timeout);
        await _stream.WriteAsync(frame, timeout.Token);
    }

    /// <summary>The next data frame, inflated when RSV1 says it was compressed; pings are passed over, a close fails.</summary>
    public async Task<(bool Compressed, byte[] Message)> ReadMessageAsync()
    {
        using var timeout = new CancellationTokenSource(Timeout);
        while (true)
        {
            var (first, payload) = await ReadFrameAsync(timeout.Token);
            var opcode = first & 0x0F;
            if (opcode == CloseOpcode)
            {
                throw new IOException("the server closed the connection with " + CloseCode(payload));
            }

            if (opcode is 0x1 or 0x2)
            {
                var compressed = (first & Rsv1) != 0;
                return (compressed, compressed ? PerMessageDeflate.Decompress(payload) : payload);
            }
        }
    }

    /// <summary>Reads and discards frames until the server's close frame and returns its code; null when the connection ended without one.</summary>
    public async Task<int?> ReadUntilCloseFrameAsync()
    {
        using var timeout = new CancellationTokenSource(Timeout);
        try
        {
            while (true)
            {
                var (first, payload) = await ReadFrameAsync(timeout.Token);
                if ((first & 0x0F) == CloseOpcode)
                {
                    return CloseCode(payload);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or EndOfStreamException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        _stream.Dispose();
        _socket.Dispose();
    }

    private async Task<(byte First, byte[] Payload)> ReadFrameAsync(CancellationToken cancellationToken)
    {
        var header = new byte[2];
        await _stream.ReadExactlyAsync(header, cancellationToken);
        long length = header[1] & 0x7F;
        if (length >= 126)
        {
            var extended = new byte[length == 126 ? 2 : 8];
            await _stream.ReadExactlyAsync(extended, cancellationToken);
            length = length == 126 ? BinaryPrimitives.ReadUInt16BigEndian(extended) : (long)BinaryPrimitives.ReadUInt64BigEndian(extended);
        }

        var payload = new byte[length];
        await _stream.ReadExactlyAsync(payload, cancellationToken);
        return (header[0], payload);
    }

    private static int? CloseCode(byte[] payload) => payload.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(payload) : null;
}
