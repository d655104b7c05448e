using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Switchboard.Tests.Redis;

/// <summary>
/// Publishes through nginx's HTTP API at a steady pace, round-robin over the rooms, each with data
/// unique in the whole test, and records what was acknowledged (room, epoch, offset, data), refused
/// (503) or left unknown (another status, or no answer). It never retries: a retry of a publication
/// whose answer was lost could publish it twice, and an idempotency key does not survive Redis
/// restarting empty.
/// </summary>
public sealed class ChaosPublisher : IAsyncDisposable
{
    private readonly HttpClient _http;
    private readonly string[] _rooms;
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<string, Dictionary<(string Epoch, ulong Offset), string>> _acknowledged;
    private readonly HashSet<string> _unacknowledged = [];
    private readonly Task _loop;
    private int _sent;

    private ChaosPublisher(Uri nginx, string[] rooms, TimeSpan interval)
    {
        _http = new HttpClient { BaseAddress = nginx, Timeout = TimeSpan.FromSeconds(10) };
        _rooms = rooms;
        _acknowledged = rooms.ToDictionary(r => r, _ => new Dictionary<(string, ulong), string>());
        _loop = Task.Run(() => RunAsync(interval));
    }

    public int Refused { get; private set; }

    /// <summary>Positions the server acknowledged for two publications (it must never).</summary>
    public List<string> PositionsAcknowledgedTwice { get; } = [];

    public int Unknown { get; private set; }

    public int Acknowledged
    {
        get
        {
            lock (_acknowledged)
            {
                return _acknowledged.Values.Sum(r => r.Count);
            }
        }
    }

    public static ChaosPublisher Start(Uri nginx, string[] rooms, TimeSpan interval) => new(nginx, rooms, interval);

    /// <summary>Stops publishing and waits for the publication in flight.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await _loop.WaitAsync(TimeSpan.FromSeconds(15));
    }

    public IReadOnlyDictionary<(string Epoch, ulong Offset), string> AcknowledgedIn(string room)
    {
        lock (_acknowledged)
        {
            return new Dictionary<(string, ulong), string>(_acknowledged[room]);
        }
    }

    public IReadOnlySet<string> Unacknowledged()
    {
        lock (_acknowledged)
        {
            return new HashSet<string>(_unacknowledged);
        }
    }

    private async Task RunAsync(TimeSpan interval)
    {
        // A pace, not a wait for anything: the publisher is a steady source, as an application's is.
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                await PublishOneAsync();
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Publishes <paramref name="count"/> at once, beside the steady pace: right after a fault, so that
    /// some land while nodes are still reconnecting or re-subscribing (a steady pace alone may fall
    /// between those few milliseconds).
    /// </summary>
    public Task BurstAsync(int count) => Task.WhenAll(Enumerable.Range(0, count).Select(_ => PublishOneAsync()));

    private async Task PublishOneAsync()
    {
        var n = Interlocked.Increment(ref _sent) - 1;
        var room = _rooms[n % _rooms.Length];
        var data = $"{room}#{n}";
        HttpStatusCode? status = null;
        try
        {
            using var response = await _http.PostAsJsonAsync("api/publish", new { room, data });
            status = response.StatusCode;
            if (status == HttpStatusCode.OK)
            {
                var position = await response.Content.ReadFromJsonAsync<JsonElement>();
                lock (_acknowledged)
                {
                    var at = (position.GetProperty("epoch").GetString()!, position.GetProperty("offset").GetUInt64());
                    if (!_acknowledged[room].TryAdd(at, data))
                    {
                        PositionsAcknowledgedTwice.Add($"{room} {at.Item1}:{at.Item2} for {_acknowledged[room][at]} and {data}");
                    }
                }

                return;
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            // No answer (the node died with the request, or the request timed out): published or not, nobody knows.
        }

        lock (_acknowledged)
        {
            _unacknowledged.Add(data);
            if (status == HttpStatusCode.ServiceUnavailable)
            {
                Refused++;
            }
            else
            {
                Unknown++;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await StopAsync();
        }

        _http.Dispose();
        _stop.Dispose();
    }
}
