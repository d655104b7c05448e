using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Switchboard.ScaleBench;

/// <summary>
/// Reads <c>INFO commandstats</c> over a plain socket (independent of the StackExchange.Redis version
/// the broker under test was built with): calls per command, scripts counted once and every command
/// they run counted too.
/// </summary>
internal static class RedisInfo
{
    public static async Task<Dictionary<string, long>> CommandCallsAsync(string configuration, CancellationToken cancellationToken)
    {
        var endpoint = configuration.Split(',')[0];
        var colon = endpoint.LastIndexOf(':');
        using var client = new TcpClient();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        await client.ConnectAsync(endpoint[..colon], int.Parse(endpoint[(colon + 1)..], CultureInfo.InvariantCulture), timeout.Token);
        var stream = client.GetStream();
        await stream.WriteAsync("*2\r\n$4\r\nINFO\r\n$12\r\ncommandstats\r\n"u8.ToArray(), timeout.Token);
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var header = await reader.ReadLineAsync(timeout.Token) ?? throw new IOException("no reply to INFO");
        var body = new char[int.Parse(header.AsSpan(1), CultureInfo.InvariantCulture)];
        for (var read = 0; read < body.Length;)
        {
            var n = await reader.ReadAsync(body.AsMemory(read), timeout.Token);
            read += n > 0 ? n : throw new IOException("INFO reply cut short");
        }

        var calls = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in new string(body).Split("\r\n").Where(l => l.StartsWith("cmdstat_", StringComparison.Ordinal)))
        {
            var name = line["cmdstat_".Length..line.IndexOf(':', StringComparison.Ordinal)];
            var first = line.Split(':', 2)[1].Split(',')[0];
            calls[name] = long.Parse(first["calls=".Length..], CultureInfo.InvariantCulture);
        }

        return calls;
    }
}
