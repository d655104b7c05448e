using System.Text.Json;
using Switchboard.Connections;
using Xunit;

namespace Switchboard.Tests.Concurrency;

/// <summary>
/// Measures what one in-process session costs and answers: the JSON exceptions thrown on its behalf
/// (on any thread, counted through an async-local mark that flows with its work, so other tests
/// running in parallel are not counted), and everything it was sent up to a marker.
/// </summary>
public static class SessionProbe
{
    private static readonly AsyncLocal<System.Runtime.CompilerServices.StrongBox<int>?> Counter = new();

    static SessionProbe() =>
        AppDomain.CurrentDomain.FirstChanceException += (_, e) =>
        {
            if (e.Exception is JsonException && Counter.Value is { } counter)
            {
                Interlocked.Increment(ref counter.Value);
            }
        };

    /// <summary>Runs <paramref name="work"/> and returns how many JSON exceptions it threw, caught or not.</summary>
    public static async Task<int> JsonExceptionsDuringAsync(Func<Task> work)
    {
        var counter = new System.Runtime.CompilerServices.StrongBox<int>();
        var previous = Counter.Value;
        Counter.Value = counter;
        try
        {
            await work();
        }
        finally
        {
            Counter.Value = previous;
        }

        return Volatile.Read(ref counter.Value);
    }

    /// <summary>
    /// Everything <paramref name="session"/> was sent before now, as parsed lines: a marker is queued
    /// behind it and the wire is read up to the marker, so nothing is missed and nothing waited for.
    /// </summary>
    public static async Task<List<JsonElement>> SentUpToNowAsync(Connection session, RecordingTransport wire)
    {
        Assert.True(session.TryEnqueue(OutboundFrame.Text("""{"op":"test-marker"}"""u8.ToArray())), "the session still takes frames");
        var lines = new List<JsonElement>();
        while (true)
        {
            var line = JsonDocument.Parse(await wire.NextAsync()).RootElement;
            if (line.GetProperty("op").GetString() == "test-marker")
            {
                return lines;
            }

            lines.Add(line);
        }
    }
}
