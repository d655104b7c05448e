using System.Security.Cryptography;
using System.Text;

namespace Switchboard.Tests.Infrastructure;

/// <summary>The WebSocket upgrade done by hand over a raw stream, for peers that must misbehave afterwards.</summary>
public static class RawUpgrade
{
    /// <summary>
    /// Sends the upgrade request (with <paramref name="extraHeaders"/>, whole <c>Name: value</c> lines)
    /// and reads the 101 response, whose head it returns; throws <see cref="IOException"/> if refused.
    /// </summary>
    public static async Task<string> PerformAsync(Stream stream, Uri server, string pathAndQuery, CancellationToken cancellationToken, params string[] extraHeaders)
    {
        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        var request =
            $"GET {pathAndQuery} HTTP/1.1\r\n" +
            $"Host: {server.Authority}\r\n" +
            "Upgrade: websocket\r\n" +
            "Connection: Upgrade\r\n" +
            $"Sec-WebSocket-Key: {key}\r\n" +
            "Sec-WebSocket-Version: 13\r\n" +
            string.Concat(extraHeaders.Select(header => header + "\r\n")) +
            "\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request), cancellationToken);

        // Byte by byte, so that no frame the server sends right after the 101 is swallowed with the headers.
        var head = new StringBuilder();
        var one = new byte[1];
        while (head.Length < 4 || head[^4] != '\r' || head[^3] != '\n' || head[^2] != '\r' || head[^1] != '\n')
        {
            await stream.ReadExactlyAsync(one, cancellationToken);
            head.Append((char)one[0]);
        }

        var response = head.ToString();
        var status = response[..response.IndexOf('\r', StringComparison.Ordinal)];
        if (!status.StartsWith("HTTP/1.1 101", StringComparison.Ordinal))
        {
            throw new IOException("the WebSocket upgrade was refused: " + status);
        }

        return response;
    }
}
