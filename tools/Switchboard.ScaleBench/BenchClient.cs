using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Switchboard.ScaleBench;

/// <summary>
/// A protocol client that joins the bench room and records, for each publication, the time from
/// the publisher's send (a <see cref="Stopwatch"/> timestamp in the data; same process, same clock)
/// to its arrival here.
/// </summary>
internal sealed class BenchClient : IAsyncDisposable
{
    public const string Room = "bench";
    private readonly ClientWebSocket _socket = new();
    private readonly List<double> _latencies = [];
    private readonly TaskCompletionSource _joined = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource<int>? _reply;
    private Task _receive = Task.CompletedTask;
    private long _measureFrom = long.MaxValue;

    public int Received { get; private set; }

    public static async Task<BenchClient> ConnectAsync(Uri ws, string user, CancellationToken cancellationToken)
    {
        var client = new BenchClient();
        await client._socket.ConnectAsync(new Uri(ws + "?user=" + user), cancellationToken);
        client._receive = client.ReceiveLoopAsync();
        await client.SendAsync($$"""{"op":"join","room":"{{Room}}","id":1}""", cancellationToken);
        await client._joined.Task.WaitAsync(TimeSpan.FromSeconds(10), cancellationToken);
        return client;
    }

    /// <summary>Sends a command with <paramref name="id"/> and waits for its reply.</summary>
    public async Task RequestAsync(string json, int id, CancellationToken cancellationToken)
    {
        var reply = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _reply, reply);
        await SendAsync(json, cancellationToken);
        var answered = await reply.Task.WaitAsync(TimeSpan.FromSeconds(10), cancellationToken);
        if (answered != id)
        {
            throw new InvalidOperationException($"reply {answered} to request {id}");
        }
    }

    /// <summary>Publications sent from this timestamp on are measured; earlier ones are the warm-up.</summary>
    public void MeasureFrom(long timestamp) => Interlocked.Exchange(ref _measureFrom, timestamp);

    public Task SendAsync(string json, CancellationToken cancellationToken) =>
        _socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, cancellationToken);

    public double[] Latencies()
    {
        lock (_latencies)
        {
            return [.. _latencies];
        }
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[256 * 1024];
        try
        {
            while (true)
            {
                var count = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    result = await _socket.ReceiveAsync(buffer.AsMemory(count), CancellationToken.None);
                    count += result.Count;
                }
                while (!result.EndOfMessage && count < buffer.Length);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                var now = Stopwatch.GetTimestamp();
                foreach (var line in Encoding.UTF8.GetString(buffer, 0, count).Split('\n'))
                {
                    OnLine(line, now);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Closed by the run's end.
        }
    }

    private void OnLine(string line, long now)
    {
        using var json = JsonDocument.Parse(line);
        var message = json.RootElement;
        switch (message.GetProperty("op").GetString())
        {
            case "reply":
                _joined.TrySetResult();
                if (message.TryGetProperty("id", out var id))
                {
                    Volatile.Read(ref _reply)?.TrySetResult(id.GetInt32());
                }

                break;
            case "error":
                Volatile.Read(ref _reply)?.TrySetException(new InvalidOperationException("the server answered " + line));
                break;
            case "message":
                var sent = message.GetProperty("data").GetProperty("t").GetInt64();
                Received++;
                if (sent >= Interlocked.Read(ref _measureFrom))
                {
                    lock (_latencies)
                    {
                        _latencies.Add(Stopwatch.GetElapsedTime(sent, now).TotalMilliseconds);
                    }
                }

                break;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _socket.Abort();
        await _receive;
        _socket.Dispose();
    }
}
