using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Switchboard.Tests.Infrastructure;

/// <summary>
/// A protocol client on an HTTP stream, built on <see cref="HttpClient"/> streaming reads: server-sent
/// events on <c>/events</c> or newline-delimited JSON on <c>/stream</c>, and commands posted to
/// <c>/events/{session}</c> with the same headers the stream was opened with, as a real client would.
/// A background loop parses the stream into the inbox; the <c>close</c> message is kept apart as the
/// session's close code.
/// </summary>
public sealed class HttpStreamClient : ISessionClient
{
    private readonly HttpClient _http;
    private readonly IReadOnlyDictionary<string, string> _headers;
    private readonly CancellationTokenSource _stop = new();
    private readonly MessageInbox _inbox = new();
    private readonly TaskCompletionSource<string> _session = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<int?> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _readLoop;
    private int _nextId;
    private int _heartbeats;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string?> _eventIds = new();

    private HttpStreamClient(HttpClient http, HttpResponseMessage response, bool serverSentEvents, IReadOnlyDictionary<string, string> headers)
    {
        _http = http;
        _headers = headers;
        Response = response;
        IsServerSentEvents = serverSentEvents;
        _readLoop = Task.Run(ReadLoopAsync);
    }

    /// <summary>The stream's response (status and headers); its body is being read by the client.</summary>
    public HttpResponseMessage Response { get; }

    public bool IsServerSentEvents { get; }

    /// <summary>The id of the last event received (server-sent events), what a browser would send as <c>Last-Event-ID</c>.</summary>
    public string? LastEventId { get; private set; }

    /// <summary>The id of every event, in order, as it arrived (server-sent events).</summary>
    public IReadOnlyList<string?> EventIds => _eventIds.ToArray();

    /// <summary>Heartbeats received: SSE comment lines, or empty NDJSON lines.</summary>
    public int Heartbeats => Volatile.Read(ref _heartbeats);

    /// <summary>The reason of the <c>close</c> message, once it arrived.</summary>
    public string? CloseReason { get; private set; }

    /// <summary>
    /// Where commands are posted: null for the node that serves the stream (the client's base address),
    /// or another node's base address, which must forward them to the stream's node.
    /// </summary>
    public Uri? CommandsBaseUri { get; set; }

    /// <summary>The session id from the welcome.</summary>
    public Task<string> Session => _session.Task.WaitAsync(ProtocolClient.DefaultTimeout);

    /// <summary>
    /// Opens <paramref name="pathAndQuery"/> (for example <c>events?user=alice</c>) and returns once
    /// the response headers arrived, whatever the status; the body is read in the background.
    /// </summary>
    public static async Task<HttpStreamClient> OpenAsync(Uri baseUri, string pathAndQuery, IReadOnlyDictionary<string, string>? headers = null)
    {
        headers ??= new Dictionary<string, string>();
        var http = new HttpClient { BaseAddress = baseUri, Timeout = Timeout.InfiniteTimeSpan };
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, pathAndQuery);
            foreach (var (name, value) in headers)
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }

            using var timeout = new CancellationTokenSource(ProtocolClient.DefaultTimeout);
            var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var sse = response.Content.Headers.ContentType?.MediaType == "text/event-stream";
            return new HttpStreamClient(http, response, sse, headers);
        }
        catch
        {
            http.Dispose();
            throw;
        }
    }

    /// <summary>Posts <paramref name="body"/> to this session's commands URL and returns the answer, whatever it is.</summary>
    public async Task<HttpResponseMessage> PostAsync(string body, string contentType = "application/json", IReadOnlyDictionary<string, string>? headers = null, string? session = null)
    {
        session ??= await Session;
        var path = new Uri("events/" + session, UriKind.Relative);
        using var request = new HttpRequestMessage(HttpMethod.Post, CommandsBaseUri is null ? path : new Uri(CommandsBaseUri, path))
        {
            Content = new StringContent(body, Encoding.UTF8),
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        foreach (var (name, value) in headers ?? _headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var timeout = new CancellationTokenSource(ProtocolClient.DefaultTimeout);
        return await _http.SendAsync(request, timeout.Token);
    }

    public async Task SendAsync(string json)
    {
        using var response = await PostAsync(json);
        if (response.StatusCode != HttpStatusCode.Accepted)
        {
            throw new InvalidOperationException($"POST answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }

    public async Task<int> SendWithIdAsync(string jsonObject)
    {
        var id = Interlocked.Increment(ref _nextId);
        var body = jsonObject.TrimEnd();
        await SendAsync(body[..^1] + (body.Length > 2 ? "," : "") + $"\"id\":{id}}}");
        return id;
    }

    public async Task<JsonElement> RequestAsync(string jsonObject)
    {
        var id = await SendWithIdAsync(jsonObject);
        return await ExpectAsync(m => m.TryGetProperty("id", out var got) && got.ValueKind == JsonValueKind.Number && got.GetInt32() == id
            && m.GetProperty("op").GetString() is "reply" or "error");
    }

    public Task<JsonElement> NextAsync(TimeSpan? timeout = null) => _inbox.NextAsync(timeout);

    public Task<JsonElement> ExpectAsync(string op, TimeSpan? timeout = null) =>
        _inbox.ExpectAsync(m => m.GetProperty("op").GetString() == op, timeout);

    public Task<JsonElement> ExpectAsync(Func<JsonElement, bool> match, TimeSpan? timeout = null) => _inbox.ExpectAsync(match, timeout);

    /// <summary>The code of the <c>close</c> message once the stream ended; null when it ended without one.</summary>
    public Task<int?> WaitForCloseAsync(TimeSpan? timeout = null) => _closed.Task.WaitAsync(timeout ?? ProtocolClient.DefaultTimeout);

    /// <summary>A client closes an HTTP stream by dropping the response (a browser's <c>EventSource.close()</c>).</summary>
    public async Task CloseAsync()
    {
        await _stop.CancelAsync();
        Response.Dispose();
        await _readLoop.WaitAsync(ProtocolClient.DefaultTimeout);
    }

    public async ValueTask DisposeAsync()
    {
        await CloseAsync();
        _http.Dispose();
        _stop.Dispose();
    }

    private async Task ReadLoopAsync()
    {
        int? closeCode = null;
        try
        {
            if (!Response.IsSuccessStatusCode)
            {
                // Refused before any stream: the body is an error for the test to read, not messages.
                return;
            }

            using var reader = new StreamReader(await Response.Content.ReadAsStreamAsync(_stop.Token), Encoding.UTF8);
            string? id = null;
            string? data = null;
            while (await reader.ReadLineAsync(_stop.Token) is { } line)
            {
                if (!IsServerSentEvents)
                {
                    if (line.Length == 0)
                    {
                        Interlocked.Increment(ref _heartbeats);
                    }
                    else
                    {
                        closeCode = Dispatch(line) ?? closeCode;
                    }

                    continue;
                }

                if (line.StartsWith(':'))
                {
                    Interlocked.Increment(ref _heartbeats);
                }
                else if (line.StartsWith("id: ", StringComparison.Ordinal))
                {
                    id = line[4..];
                }
                else if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    data = data is null ? line[6..] : data + "\n" + line[6..];
                }
                else if (line.Length == 0 && data is not null)
                {
                    LastEventId = id ?? LastEventId;
                    _eventIds.Enqueue(id);
                    closeCode = Dispatch(data) ?? closeCode;
                    (id, data) = (null, null);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or HttpRequestException)
        {
            // The stream broke or the test closed it: the session is over either way.
        }
        finally
        {
            _closed.TrySetResult(closeCode);
            _session.TrySetException(new InvalidOperationException("the stream ended without a welcome"));
            _inbox.Complete();
        }
    }

    /// <summary>Queues one message; returns its code when it is the stream's <c>close</c> message.</summary>
    private int? Dispatch(string json)
    {
        var message = JsonDocument.Parse(json).RootElement.Clone();
        switch (message.GetProperty("op").GetString())
        {
            case "close":
                CloseReason = message.GetProperty("reason").GetString();
                return message.GetProperty("code").GetInt32();
            case "welcome":
                _session.TrySetResult(message.GetProperty("session").GetString()!);
                break;
        }

        _inbox.Add(message);
        return null;
    }
}
