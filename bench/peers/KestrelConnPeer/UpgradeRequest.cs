using System.Buffers;
using System.Buffers.Text;
using System.IO.Pipelines;
using System.Security.Cryptography;
using System.Text;

namespace KestrelConnPeer;

/// <summary>
/// The HTTP/1.1 side of the connection, done by hand: reads one <c>GET /ws?room=R</c> upgrade request
/// (RFC 6455 section 4.2.1), answers <c>101 Switching Protocols</c>, or <c>400</c> and nothing more.
/// </summary>
internal static class UpgradeRequest
{
    /// <summary>The request line and headers together; a request that has not ended by then is refused.</summary>
    public const int MaxHeaderBytes = 8 * 1024;

    private static ReadOnlySpan<byte> HeaderEnd => "\r\n\r\n"u8;

    private static ReadOnlySpan<byte> AcceptGuid => "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"u8;

    private static ReadOnlySpan<byte> SwitchingProtocols => "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "u8;

    private static ReadOnlySpan<byte> BadRequest => "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"u8;

    /// <summary>The room the upgraded connection joins, or null when it was refused or went away first.</summary>
    public static async ValueTask<string?> AcceptAsync(IDuplexPipe transport)
    {
        while (true)
        {
            var read = await transport.Input.ReadAsync();
            var buffer = read.Buffer;
            var reader = new SequenceReader<byte>(buffer);
            if (reader.TryReadTo(out ReadOnlySequence<byte> head, HeaderEnd) && head.Length <= MaxHeaderBytes)
            {
                // Read before AdvanceTo: the pipe may reuse the request's memory once it is consumed.
                var room = Answer(Encoding.Latin1.GetString(head), transport.Output);
                transport.Input.AdvanceTo(reader.Position);
                await transport.Output.FlushAsync();
                return room;
            }

            if (buffer.Length > MaxHeaderBytes)
            {
                transport.Input.AdvanceTo(buffer.End);
                transport.Output.Write(BadRequest);
                await transport.Output.FlushAsync();
                return null;
            }

            if (read.IsCompleted || read.IsCanceled)
            {
                return null;
            }

            transport.Input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>Writes the answer to <paramref name="head"/> (request line and headers, without the blank line).</summary>
    private static string? Answer(string head, PipeWriter output)
    {
        var room = Parse(head, out var key);
        if (room is null || !TryWriteAccept(key, output))
        {
            output.Write(BadRequest);
            return null;
        }

        return room;
    }

    /// <summary>The room of a valid upgrade request and its <c>Sec-WebSocket-Key</c>; null room when it is not one.</summary>
    internal static string? Parse(string head, out string key)
    {
        key = "";
        var lines = head.Split("\r\n");
        var requestLine = lines[0].Split(' ');
        if (requestLine.Length != 3 || requestLine[0] != "GET" || requestLine[2] != "HTTP/1.1")
        {
            return null;
        }

        var room = RoomOf(requestLine[1]);
        bool upgrade = false, connectionUpgrade = false, version13 = false;
        foreach (var line in lines.AsSpan(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                return null;
            }

            var name = line.AsSpan(0, colon).Trim();
            var value = line.AsSpan(colon + 1).Trim();
            if (name.Equals("Upgrade", StringComparison.OrdinalIgnoreCase))
            {
                upgrade = HasToken(value, "websocket");
            }
            else if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase))
            {
                connectionUpgrade = HasToken(value, "upgrade");
            }
            else if (name.Equals("Sec-WebSocket-Version", StringComparison.OrdinalIgnoreCase))
            {
                version13 = value.SequenceEqual("13");
            }
            else if (name.Equals("Sec-WebSocket-Key", StringComparison.OrdinalIgnoreCase))
            {
                key = value.ToString();
            }
        }

        return upgrade && connectionUpgrade && version13 && key.Length > 0 ? room : null;
    }

    private static string? RoomOf(string target)
    {
        const string prefix = "/ws?";
        if (!target.StartsWith(prefix, StringComparison.Ordinal))
        {
            return null;
        }

        foreach (var pair in target.AsSpan(prefix.Length).Split('&'))
        {
            var parameter = target.AsSpan(prefix.Length)[pair];
            if (parameter.StartsWith("room=") && parameter.Length > "room=".Length)
            {
                return Uri.UnescapeDataString(parameter["room=".Length..]);
            }
        }

        return null;
    }

    private static bool HasToken(ReadOnlySpan<char> value, string token)
    {
        foreach (var part in value.Split(','))
        {
            if (value[part].Trim().Equals(token, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Writes the 101 answer; false when the key is not the base64 of 16 bytes (section 4.1).</summary>
    private static bool TryWriteAccept(string key, PipeWriter output)
    {
        Span<byte> nonce = stackalloc byte[18];
        if (key.Length != 24 || !Convert.TryFromBase64String(key, nonce, out var nonceLength) || nonceLength != 16)
        {
            return false;
        }

        Span<byte> keyAndGuid = stackalloc byte[24 + 36];
        Encoding.ASCII.GetBytes(key, keyAndGuid);
        AcceptGuid.CopyTo(keyAndGuid[24..]);
        Span<byte> hash = stackalloc byte[20];
#pragma warning disable CA5350 // RFC 6455 fixes SHA-1 for the accept value: a handshake check, not a security use.
        SHA1.HashData(keyAndGuid, hash);
#pragma warning restore CA5350
        var answer = output.GetSpan(SwitchingProtocols.Length + 28 + 4);
        SwitchingProtocols.CopyTo(answer);
        Base64.EncodeToUtf8(hash, answer[SwitchingProtocols.Length..], out _, out var written);
        HeaderEnd.CopyTo(answer[(SwitchingProtocols.Length + written)..]);
        output.Advance(SwitchingProtocols.Length + written + HeaderEnd.Length);
        return true;
    }
}
