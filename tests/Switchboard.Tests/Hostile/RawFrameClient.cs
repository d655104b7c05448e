using System.Buffers.Binary;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

using Switchboard.Tests.Infrastructure;

namespace Switchboard.Tests.Hostile;

/// <summary>
/// A WebSocket peer on a raw TCP socket that sends whatever bytes it is given after the upgrade, so
/// that a test can break the framing itself (reserved bits and opcodes, unmasked or oversize frames,
/// fragments out of order), which no WebSocket client library will do.
/// </summary>
internal sealed class RawFrameClient : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private readonly Socket _socket;
    private readonly NetworkStream _stream;

    private RawFrameClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
    }

    public static async Task<RawFrameClient> ConnectAsync(Uri server, string pathAndQuery)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        RawFrameClient? client = null;
        try
        {
            using var timeout = new CancellationTokenSource(Timeout);
            await socket.ConnectAsync(server.Host, server.Port, timeout.Token);
            client = new RawFrameClient(socket);
            await client.UpgradeAsync(server, pathAndQuery, timeout.Token);
            return client;
        }
        catch
        {
            client?.Dispose();
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// One frame: <paramref name="firstByte"/> holds FIN, the reserved bits and the opcode. The
    /// payload is masked unless <paramref name="masked"/> is false; <paramref name="declaredLength"/>
    /// claims a length other than the payload's.
    /// </summary>
    public static byte[] Frame(byte firstByte, ReadOnlySpan<byte> payload, bool masked = true, ulong? declaredLength = null)
    {
        var length = declaredLength ?? (ulong)payload.Length;
        var frame = new List<byte> { firstByte };
        var maskBit = masked ? (byte)0x80 : (byte)0;
        if (length < 126)
        {
            frame.Add((byte)(maskBit | (byte)length));
        }
        else if (length <= ushort.MaxValue)
        {
            frame.Add((byte)(maskBit | 126));
            frame.AddRange([(byte)(length >> 8), (byte)length]);
        }
        else
        {
            frame.Add((byte)(maskBit | 127));
            var extended = new byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(extended, length);
            frame.AddRange(extended);
        }

        var mask = masked ? RandomNumberGenerator.GetBytes(4) : [0, 0, 0, 0];
        if (masked)
        {
            frame.AddRange(mask);
        }

        for (var i = 0; i < payload.Length; i++)
        {
            frame.Add((byte)(payload[i] ^ mask[i % 4]));
        }

        return [.. frame];
    }

    public async Task SendAsync(byte[] bytes)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        await _stream.WriteAsync(bytes, timeout.Token);
    }

    /// <summary>
    /// Reads until the server's close frame, answers it as a well-behaved peer would, and returns its
    /// code; null when the TCP connection ended (FIN or reset) without one. Fails at the deadline if
    /// the server keeps the connection.
    /// </summary>
    public async Task<int?> ReadUntilCloseFrameAsync()
    {
        using var timeout = new CancellationTokenSource(Timeout);
        try
        {
            while (true)
            {
                var header = new byte[2];
                if (await _stream.ReadAtLeastAsync(header, 2, throwOnEndOfStream: false, timeout.Token) < 2)
                {
                    return null;
                }

                long length = header[1] & 0x7F;
                if (length >= 126)
                {
                    var extended = new byte[length == 126 ? 2 : 8];
                    await _stream.ReadExactlyAsync(extended, timeout.Token);
                    length = length == 126 ? BinaryPrimitives.ReadUInt16BigEndian(extended) : (long)BinaryPrimitives.ReadUInt64BigEndian(extended);
                }

                var payload = new byte[length];
                await _stream.ReadExactlyAsync(payload, timeout.Token);
                if ((header[0] & 0x0F) == 0x8)
                {
                    await AnswerCloseAsync(payload, timeout.Token);
                    return payload.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(payload) : null;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or EndOfStreamException)
        {
            return null;
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"the server kept the connection open for {Timeout.TotalSeconds} s");
        }
    }

    /// <summary>Echoes the server's close code, completing the handshake; a server that already dropped the connection is fine too.</summary>
    private async Task AnswerCloseAsync(byte[] payload, CancellationToken cancellationToken)
    {
        try
        {
            await _stream.WriteAsync(Frame(0x88, payload.AsSpan(0, Math.Min(2, payload.Length))), cancellationToken);
        }
        catch (IOException)
        {
            // Gone already: there is nobody left to answer.
        }
    }

    public void Dispose()
    {
        _stream.Dispose();
        _socket.Dispose();
    }

    private Task<string> UpgradeAsync(Uri server, string pathAndQuery, CancellationToken cancellationToken) =>
        RawUpgrade.PerformAsync(_stream, server, pathAndQuery, cancellationToken);
}
