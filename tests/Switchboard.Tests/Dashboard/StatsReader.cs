using System.Text.Json;

namespace Switchboard.Tests.Dashboard;

/// <summary>A reader of <c>/dashboard/stats</c>: server-sent events, each awaited with a deadline.</summary>
public sealed class StatsReader : IAsyncDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly StreamReader _reader;

    private StatsReader(HttpResponseMessage response, StreamReader reader)
    {
        _response = response;
        _reader = reader;
    }

    public static async Task<StatsReader> OpenAsync(HttpClient http, string? apiKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "dashboard/stats");
        if (apiKey is not null)
        {
            request.Headers.Add("X-Api-Key", apiKey);
        }

        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(10));
        response.EnsureSuccessStatusCode();
        return new StatsReader(response, new StreamReader(await response.Content.ReadAsStreamAsync()));
    }

    public string? MediaType => _response.Content.Headers.ContentType?.MediaType;

    /// <summary>The next event: its type and its JSON data.</summary>
    public async Task<(string Type, JsonElement Data)> NextAsync(TimeSpan? timeout = null)
    {
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        var type = "message";
        var data = new List<string>();
        while (true)
        {
            var line = await _reader.ReadLineAsync(deadline.Token) ?? throw new EndOfStreamException("the stats stream ended");
            if (line.Length == 0 && data.Count > 0)
            {
                using var document = JsonDocument.Parse(string.Join("\n", data));
                return (type, document.RootElement.Clone());
            }

            if (line.StartsWith("event:", StringComparison.Ordinal))
            {
                type = line[6..].Trim();
            }
            else if (line.StartsWith("data:", StringComparison.Ordinal))
            {
                data.Add(line[5..].TrimStart(' '));
            }
        }
    }

    /// <summary>Reads <c>stats</c> events until one satisfies <paramref name="condition"/>.</summary>
    public async Task<JsonElement> UntilAsync(Func<JsonElement, bool> condition, string because, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        JsonElement last = default;
        while (DateTime.UtcNow < deadline)
        {
            var (type, data) = await NextAsync(deadline - DateTime.UtcNow);
            if (type == "stats")
            {
                last = data;
                if (condition(data))
                {
                    return data;
                }
            }
        }

        throw new TimeoutException($"no stats snapshot showed {because}; the last was {last}");
    }

    public ValueTask DisposeAsync()
    {
        _reader.Dispose();
        _response.Dispose();
        return ValueTask.CompletedTask;
    }
}
