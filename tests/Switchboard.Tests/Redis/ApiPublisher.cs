using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Redis;

/// <summary>Publishes numbered messages through the HTTP API of each node in turn, keeping every answer.</summary>
internal sealed class ApiPublisher(TestServer[] nodes)
{
    private readonly Lock _lock = new();
    private readonly List<Acknowledgement> _acknowledged = [];
    private readonly HashSet<int> _refusedData = [];
    private int _refused;

    public int Acknowledged
    {
        get
        {
            lock (_lock)
            {
                return _acknowledged.Count;
            }
        }
    }

    public int Refused => Volatile.Read(ref _refused);

    /// <summary>The data of every publication answered with 503.</summary>
    public HashSet<int> RefusedData()
    {
        lock (_lock)
        {
            return [.. _refusedData];
        }
    }

    /// <summary>Every acknowledged publication, in the order the answers came.</summary>
    public IReadOnlyList<Acknowledgement> Acknowledgements()
    {
        lock (_lock)
        {
            return [.. _acknowledged];
        }
    }

    /// <summary>
    /// The data acknowledged at each offset, for a run that must stay in one epoch with every offset
    /// handed out once (an outage that loses nothing acknowledged): anything else fails here.
    /// </summary>
    public Dictionary<ulong, int> AcknowledgedOffsets()
    {
        var acknowledged = Acknowledgements();
        Assert.Single(acknowledged.Select(a => a.Epoch).Distinct());
        var byOffset = new Dictionary<ulong, int>();
        foreach (var a in acknowledged)
        {
            Assert.True(byOffset.TryAdd(a.Offset, a.Data), $"publications {byOffset.GetValueOrDefault(a.Offset)} and {a.Data} both got offset {a.Offset}");
        }

        return byOffset;
    }

    /// <summary>Publishes until <paramref name="stop"/>, or until <paramref name="limit"/> publications were answered (acknowledged or refused).</summary>
    public async Task RunAsync(string room, CancellationToken stop, int limit = int.MaxValue)
    {
        for (var n = 0; n < limit && !stop.IsCancellationRequested; n++)
        {
            using var response = await nodes[n % nodes.Length].Http.PostAsJsonAsync("api/publish", new { room, data = n }, CancellationToken.None);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                var position = await response.Content.ReadFromJsonAsync<JsonElement>(CancellationToken.None);
                lock (_lock)
                {
                    _acknowledged.Add(new Acknowledgement(position.GetProperty("epoch").GetString()!, position.GetProperty("offset").GetUInt64(), n));
                }

                continue;
            }

            // The only other answer allowed is the documented one.
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            var error = await response.Content.ReadFromJsonAsync<JsonElement>(CancellationToken.None);
            Assert.Equal("unavailable", error.GetProperty("error").GetProperty("code").GetString());
            Interlocked.Increment(ref _refused);
            lock (_lock)
            {
                _refusedData.Add(n);
            }

            // Pacing while refused, so the outage is a few hundred requests rather than a busy loop.
            await Task.Delay(20, CancellationToken.None);
        }
    }

    public Task WaitAsync(Func<ApiPublisher, bool> condition, string because) =>
        Eventually.TrueAsync(() => condition(this), because, TimeSpan.FromSeconds(20));

    /// <summary>Publication <paramref name="Data"/> acknowledged at <paramref name="Offset"/> of <paramref name="Epoch"/>.</summary>
    public sealed record Acknowledgement(string Epoch, ulong Offset, int Data);
}
