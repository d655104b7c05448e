using System.Net.WebSockets;
using System.Text;

namespace Switchboard.Load.Soak;

/// <summary>The ways a hostile client misbehaves during a soak.</summary>
internal enum Hostility
{
    /// <summary>Publishes as fast as it can, far over the rate limit, until the server closes it.</summary>
    Flood,

    /// <summary>Sends malformed lines, unknown ops and binary junk.</summary>
    Garbage,

    /// <summary>Joins the busiest room and never reads: its queue fills and it stops answering pings.</summary>
    Stall,
}

/// <summary>
/// One hostile client for a bounded time (<see cref="Lifetime"/>): it misbehaves in one way and is
/// counted as closed when the server ends it first. The soak checks that the server keeps serving the
/// well-behaved members meanwhile and that nothing the hostile ones cost stays behind.
/// </summary>
internal static class HostileClient
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(60);

    private static readonly byte[][] Garbage =
    [
        "{\"op\":"u8.ToArray(),
        "{\"op\":\"frobnicate\",\"id\":1}"u8.ToArray(),
        "1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1"u8.ToArray(),
        "{\"op\":\"join\",\"room\":\"no spaces allowed\"}"u8.ToArray(),
    ];

    public static async Task RunAsync(Uri url, string room, Hostility hostility, SoakTally tally, CancellationToken cancellationToken)
    {
        tally.OnHostileStarted();
        using var lifetime = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        lifetime.CancelAfter(Lifetime);
        using var socket = new ClientWebSocket();
        try
        {
            await socket.ConnectAsync(url, lifetime.Token);
            await SendAsync(socket, $$"""{"op":"join","room":"{{room}}","id":1}""", lifetime.Token);
            var closedByServer = hostility == Hostility.Stall
                ? StallAsync(socket, lifetime.Token)
                : DrainAsync(socket, lifetime.Token);
            var misbehaving = hostility switch
            {
                Hostility.Flood => FloodAsync(socket, room, lifetime.Token),
                Hostility.Garbage => GarbageAsync(socket, lifetime.Token),
                _ => Task.CompletedTask,
            };
            if (await closedByServer)
            {
                tally.OnHostileClosed();
            }

            await misbehaving.ContinueWith(_ => { }, TaskScheduler.Default);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Refused at the door, or cut by the server while sending: either way the server ended it.
            if (!lifetime.IsCancellationRequested)
            {
                tally.OnHostileClosed();
            }
        }
        finally
        {
            socket.Abort();
        }
    }

    /// <summary>Reads and discards until the server closes (true) or the lifetime ends (false).</summary>
    private static async Task<bool> DrainAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer, cancellationToken);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return true;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return false;
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException)
        {
            return true;
        }
    }

    /// <summary>Never reads; waits until the server gives up on it (true) or the lifetime ends (false).</summary>
    private static async Task<bool> StallAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        // Without reads the client answers no ping and sees no close frame; a failed send is how it learns.
        var ping = Encoding.UTF8.GetBytes("""{"op":"presence","room":"x","id":2}""");
        try
        {
            while (true)
            {
                await Task.Delay(TimeSpan.FromSeconds(5), cancellationToken);
                await socket.SendAsync(ping, WebSocketMessageType.Text, true, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return false;
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or IOException)
        {
            return true;
        }
    }

    private static async Task FloodAsync(ClientWebSocket socket, string room, CancellationToken cancellationToken)
    {
        var publish = Encoding.UTF8.GetBytes($$"""{"op":"publish","room":"{{room}}","data":"flood"}""");
        while (socket.State == WebSocketState.Open)
        {
            await socket.SendAsync(publish, WebSocketMessageType.Text, true, cancellationToken);
        }
    }

    private static async Task GarbageAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        var random = new Random();
        while (socket.State == WebSocketState.Open)
        {
            var junk = Garbage[random.Next(Garbage.Length)];
            await socket.SendAsync(junk, WebSocketMessageType.Text, true, cancellationToken);
            await socket.SendAsync(new byte[] { 0xFF, 0x00, 0x13 }, WebSocketMessageType.Binary, true, cancellationToken);
            // A few bad frames a second, within the command rate: garbage is judged by how it is
            // answered, and a flood of it is the flood client's part.
            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
        }
    }

    private static Task SendAsync(ClientWebSocket socket, string text, CancellationToken cancellationToken) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, cancellationToken);
}
