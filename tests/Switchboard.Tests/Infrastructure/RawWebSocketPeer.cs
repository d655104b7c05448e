using System.Buffers.Binary;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Switchboard.Tests.Infrastructure;

/// <summary>
/// A WebSocket client written by hand on a raw TCP socket, for the misbehaviour a real client cannot
/// be made to show: it never reads unless told to, never answers a ping or a close, can shrink its
/// kernel receive buffer so that the server's writes stall, and can vanish with a TCP reset.
/// </summary>
public sealed class RawWebSocketPeer : IDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    private const byte TextOpcode = 0x1;
    private const byte CloseOpcode = 0x8;

    private readonly Socket _socket;
    private readonly NetworkStream _stream;

    private RawWebSocketPeer(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
    }

    /// <summary>
    /// Opens a TCP connection to <paramref name="server"/> and upgrades <paramref name="pathAndQuery"/>
    /// (for example <c>/ws?user=bob</c>) by hand. A <paramref name="receiveBufferBytes"/> is set before
    /// connecting, so the TCP window is small from the first segment on.
    /// </summary>
    public static async Task<RawWebSocketPeer> ConnectAsync(Uri server, string pathAndQuery, int? receiveBufferBytes = null)
    {
        ArgumentNullException.ThrowIfNull(server);
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (receiveBufferBytes is { } size)
        {
            socket.ReceiveBufferSize = size;
        }

        RawWebSocketPeer? peer = null;
        try
        {
            using var timeout = new CancellationTokenSource(DefaultTimeout);
            await socket.ConnectAsync(server.Host, server.Port, timeout.Token);
            peer = new RawWebSocketPeer(socket);
            await peer.UpgradeAsync(server, pathAndQuery, timeout.Token);
            return peer;
        }
        catch
        {
            peer?.Dispose();
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends one masked text frame, as a browser would.</summary>
    public Task SendTextAsync(string text) => SendFrameAsync(TextOpcode, Encoding.UTF8.GetBytes(text));

    /// <summary>
    /// Reads frames until a text frame holds a line that satisfies <paramref name="match"/>, and
    /// returns that line. Pings and other lines are passed over, and pings are never answered.
    /// </summary>
    public async Task<string> ReadLineAsync(Func<string, bool> match, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(match);
        using var deadline = new CancellationTokenSource(timeout ?? DefaultTimeout);
        while (true)
        {
            var frame = await ReadFrameAsync(deadline.Token) ?? throw new IOException("the server closed the TCP connection");
            if (frame.Opcode == CloseOpcode)
            {
                throw new IOException("the server sent a close frame with code " + CloseCode(frame.Payload));
            }

            if (frame.Opcode != TextOpcode)
            {
                continue;
            }

            foreach (var line in Encoding.UTF8.GetString(frame.Payload).Split('\n'))
            {
                if (match(line))
                {
                    return line;
                }
            }
        }
    }

    /// <summary>
    /// Reads and discards everything until the server's close frame, and returns its code; returns
    /// null when the TCP connection ended (or was reset) without one.
    /// </summary>
    public async Task<int?> ReadUntilCloseFrameAsync(TimeSpan? timeout = null)
    {
        using var deadline = new CancellationTokenSource(timeout ?? DefaultTimeout);
        while (true)
        {
            RawFrame? frame;
            try
            {
                frame = await ReadFrameAsync(deadline.Token);
            }
            catch (IOException)
            {
                return null;
            }

            if (frame is null)
            {
                return null;
            }

            if (frame.Opcode == CloseOpcode)
            {
                return CloseCode(frame.Payload);
            }
        }
    }

    /// <summary>Reads until the server ends the TCP connection; true when it did, by FIN or by reset.</summary>
    public async Task<bool> ReadUntilDisconnectedAsync(TimeSpan? timeout = null)
    {
        using var deadline = new CancellationTokenSource(timeout ?? DefaultTimeout);
        var scratch = new byte[16 * 1024];
        try
        {
            while (await _stream.ReadAsync(scratch, deadline.Token) > 0)
            {
            }

            return true;
        }
        catch (IOException)
        {
            return true;
        }
    }

    /// <summary>Drops the connection with a TCP reset: no close frame, no FIN, nothing more read or written.</summary>
    public void Reset()
    {
        _socket.LingerState = new LingerOption(enable: true, seconds: 0);
        _socket.Close();
    }

    public void Dispose()
    {
        _stream.Dispose();
        _socket.Dispose();
    }

    private Task<string> UpgradeAsync(Uri server, string pathAndQuery, CancellationToken cancellationToken) =>
        RawUpgrade.PerformAsync(_stream, server, pathAndQuery, cancellationToken);

    private async Task SendFrameAsync(byte opcode, byte[] payload)
    {
        var header = payload.Length switch
        {
            < 126 => new byte[] { (byte)(0x80 | opcode), (byte)(0x80 | payload.Length) },
            <= ushort.MaxValue => [(byte)(0x80 | opcode), 0x80 | 126, (byte)(payload.Length >> 8), (byte)payload.Length],
            _ => throw new ArgumentOutOfRangeException(nameof(payload), "frames over 64 KiB are not needed by these tests"),
        };
        var mask = RandomNumberGenerator.GetBytes(4);
        var frame = new byte[header.Length + 4 + payload.Length];
        header.CopyTo(frame, 0);
        mask.CopyTo(frame, header.Length);
        for (var i = 0; i < payload.Length; i++)
        {
            frame[header.Length + 4 + i] = (byte)(payload[i] ^ mask[i % 4]);
        }

        using var timeout = new CancellationTokenSource(DefaultTimeout);
        await _stream.WriteAsync(frame, timeout.Token);
    }

    /// <summary>One unmasked server frame, or null at the end of the TCP stream.</summary>
    private async Task<RawFrame?> ReadFrameAsync(CancellationToken cancellationToken)
    {
        var header = new byte[2];
        if (await _stream.ReadAtLeastAsync(header, 2, throwOnEndOfStream: false, cancellationToken) < 2)
        {
            return null;
        }

        long length = header[1] & 0x7F;
        if (length == 126)
        {
            var extended = new byte[2];
            await _stream.ReadExactlyAsync(extended, cancellationToken);
            length = BinaryPrimitives.ReadUInt16BigEndian(extended);
        }
        else if (length == 127)
        {
            var extended = new byte[8];
            await _stream.ReadExactlyAsync(extended, cancellationToken);
            length = (long)BinaryPrimitives.ReadUInt64BigEndian(extended);
        }

        var payload = new byte[length];
        await _stream.ReadExactlyAsync(payload, cancellationToken);
        return new RawFrame((byte)(header[0] & 0x0F), payload);
    }

    private static int? CloseCode(byte[] payload) => payload.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(payload) : null;

    private sealed record RawFrame(byte Opcode, byte[] Payload);
}
