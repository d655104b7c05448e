using System.Globalization;
using System.Net.WebSockets;
using System.Text;

/// <summary>
/// The client side of <see cref="ConnectionCost"/>, in its own process: opens connections to one URI,
/// reads the welcome and joins a room where asked, then either holds them open (<c>hold</c>) or closes
/// each at once (<c>cycles</c>, a connect+join+close cycle, ten at a time). Prints <c>ready</c>, waits
/// for a line on stdin, closes whatever is open, prints <c>closed</c>.
/// Usage: <c>conn-clients URI url|none|shared|own hold|cycles COUNT</c>; <c>url</c> is a connection done
/// at its handshake (no welcome; any room is in the URI).
/// </summary>
internal static class ConnectionCostClients
{
    private const int Concurrency = 10;

    public static async Task RunAsync(string[] args)
    {
        var uri = args[1];
        var join = args[2];
        var hold = args[3] == "hold";
        var count = int.Parse(args[4], CultureInfo.InvariantCulture);
        var open = new WebSocket[hold ? count : 0];
        var next = -1;
        var workers = Enumerable.Range(0, Concurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                var socket = await OpenAsync(uri, join, i);
                if (hold)
                {
                    open[i] = socket;
                }
                else
                {
                    await CloseAsync(socket);
                }
            }
        });
        await Task.WhenAll(workers);
        Console.WriteLine("ready");
        await Console.In.ReadLineAsync();
        for (var start = 0; start < open.Length; start += 100)
        {
            await Task.WhenAll(open.Skip(start).Take(100).Select(CloseAsync));
        }

        Console.WriteLine("closed");
    }

    private static async Task<WebSocket> OpenAsync(string uri, string join, int i)
    {
        var socket = new ClientWebSocket();
        var doneAtHandshake = join == "url";
        await socket.ConnectAsync(new Uri(doneAtHandshake ? uri : uri + "?user=u" + i.ToString(CultureInfo.InvariantCulture)), CancellationToken.None);
        if (doneAtHandshake)
        {
            return socket;
        }

        await ExpectAsync(socket, "\"welcome\"");
        if (join != "none")
        {
            var room = join == "shared" ? "lobby" : "room-" + i.ToString(CultureInfo.InvariantCulture);
            await socket.SendAsync(Encoding.UTF8.GetBytes($"{{\"op\":\"join\",\"room\":\"{room}\",\"id\":1}}"), WebSocketMessageType.Text, true, CancellationToken.None);
            await ExpectAsync(socket, "\"id\":1");
        }

        return socket;
    }

    /// <summary>Reads messages until one holds <paramref name="marker"/> (presence events may come first in a shared room).</summary>
    private static async Task ExpectAsync(WebSocket socket, string marker)
    {
        var buffer = new byte[64 * 1024];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var length = 0;
            ValueWebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(buffer.AsMemory(length), timeout.Token);
                length += result.Count;
            }
            while (!result.EndOfMessage);

            if (result.MessageType == WebSocketMessageType.Close)
            {
                throw new InvalidOperationException($"closed by the server: {socket.CloseStatus} {socket.CloseStatusDescription}");
            }

            if (Encoding.UTF8.GetString(buffer, 0, length).Contains(marker, StringComparison.Ordinal))
            {
                return;
            }
        }
    }

    private static async Task CloseAsync(WebSocket socket)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            // Already gone: the server let go of it either way.
        }

        socket.Dispose();
    }
}
