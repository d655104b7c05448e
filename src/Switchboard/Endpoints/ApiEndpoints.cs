using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Switchboard.Brokers;
using Switchboard.Connections;
using Switchboard.Hub;
using Switchboard.Metrics;
using Switchboard.Options;
using Switchboard.Protocol;
using Switchboard.Telemetry;

namespace Switchboard.Endpoints;

/// <summary>
/// The HTTP API: publish and send from backends, and read rooms, presence and history. Errors use
/// the protocol's error codes: <c>{"error":{"code":C,"message":M}}</c>.
/// </summary>
internal static class ApiEndpoints
{
    public static void Map(IEndpointRouteBuilder endpoints, string path)
    {
        // The framework bounds every body: a publication or a message may be up to MaxMessageBytes.
        var maxBody = endpoints.ServiceProvider.GetRequiredService<IOptions<SwitchboardOptions>>().Value.Limits.MaxMessageBytes;
        var api = endpoints.MapGroup(path)
            .WithMetadata(new RequestSizeLimitAttribute(maxBody))
            .AddEndpointFilter<ApiKeyFilter>()
            .AddEndpointFilter(BrokerUnavailableAs503);
        api.MapPost("/publish", PublishAsync);
        api.MapPost("/send", SendAsync);
        api.MapGet("/rooms", ListRooms);
        api.MapGet("/rooms/{room}/presence", PresenceAsync);
        api.MapGet("/rooms/{room}/history", HistoryAsync);
    }

    private static async ValueTask<object?> BrokerUnavailableAs503(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context).ConfigureAwait(false);
        }
        catch (BrokerUnavailableException ex)
        {
            // The exception's message may name internal addresses or the broker's own errors: it goes
            // to the log, and the caller learns only that the broker is unavailable.
            var http = context.HttpContext;
            Log.ApiUnavailable(http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ApiEndpoints)), http.Request.Method, http.Request.Path, ex);
            return Error(ErrorCodes.Unavailable, ProtocolBehavior.UnavailableMessage, StatusCodes.Status503ServiceUnavailable);
        }
    }

    private static async Task<IResult> PublishAsync(HttpContext context, SwitchboardHub hub)
    {
        var (body, error) = await ReadBodyAsync(context).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        using (body)
        {
            if (RequiredName(body!.RootElement, "room", ErrorCodes.InvalidRoom, out var room) is { } bad)
            {
                return bad;
            }

            if (!body.RootElement.TryGetProperty("data", out var data))
            {
                return Error(ErrorCodes.InvalidField, "data is required");
            }

            if (OptionalName(body.RootElement, "idempotencyKey", out var idempotencyKey) is { } badKey)
            {
                return badKey;
            }

            var position = await hub.PublishAsync(room, null, RawJson(data), isBinary: false, idempotencyKey, context.RequestAborted).ConfigureAwait(false);
            return Results.Json(new { offset = position.Offset, epoch = position.Epoch });
        }
    }

    private static async Task<IResult> SendAsync(HttpContext context, SwitchboardHub hub)
    {
        var (body, error) = await ReadBodyAsync(context).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        using (body)
        {
            if (RequiredName(body!.RootElement, "user", ErrorCodes.InvalidUser, out var user) is { } bad)
            {
                return bad;
            }

            if (!body.RootElement.TryGetProperty("data", out var data))
            {
                return Error(ErrorCodes.InvalidField, "data is required");
            }

            await hub.SendAsync(user, null, RawJson(data).Span, context.RequestAborted).ConfigureAwait(false);
            return Results.Json(new { });
        }
    }

    private static IResult ListRooms(SwitchboardHub hub, PlainRooms plain)
    {
        using var activity = SwitchboardTracing.Source.StartActivity(SwitchboardTracing.RoomsSpan);
        var rooms = hub.Rooms().Select(r => new { room = r.Room, mode = "protocol", connections = r.Connections, users = (int?)r.Users })
            .Concat(plain.Rooms().Select(r => new { room = r.Room, mode = "plain", connections = r.Connections, users = (int?)null }));
        return Results.Json(new { rooms });
    }

    private static async Task<IResult> PresenceAsync(string room, SwitchboardHub hub, CancellationToken cancellationToken)
    {
        if (!NameRules.IsValid(room))
        {
            return Error(ErrorCodes.InvalidRoom, "invalid room name");
        }

        var users = await hub.PresenceAsync(room, cancellationToken).ConfigureAwait(false);
        return Results.Json(new { room, users = users.ToDictionary(p => p.Key, p => p.Value) });
    }

    private static async Task<IResult> HistoryAsync(string room, ulong? since, string? epoch, int? limit, SwitchboardHub hub, CancellationToken cancellationToken)
    {
        if (!NameRules.IsValid(room))
        {
            return Error(ErrorCodes.InvalidRoom, "invalid room name");
        }

        if (limit is <= 0)
        {
            return Error(ErrorCodes.InvalidField, "limit must be a positive integer");
        }

        StreamPosition? from = null;
        if (since is { } offset)
        {
            // Without an epoch the caller means "the stream as it is now".
            epoch ??= (await hub.HistoryAsync(room, null, 1, cancellationToken).ConfigureAwait(false)).Top.Epoch;
            from = new StreamPosition(offset, epoch);
        }

        var read = await hub.HistoryAsync(room, from, limit, cancellationToken).ConfigureAwait(false);
        var json = ServerMessages.StreamReply(default, read.Top, read.Recovered, read.Publications.Select(p => p.Json).ToArray());
        // The reply encoder writes {"op":"reply",...}; the HTTP answer is the same object, which keeps
        // one encoding of publications for both transports.
        return Results.Bytes(json, "application/json");
    }

    /// <summary>
    /// Parses the body as one JSON object. Its size is bounded by the server itself (the group's
    /// <see cref="RequestSizeLimitAttribute"/>): Kestrel refuses a declared length over the limit on the
    /// first read and stops a chunked body as it crosses it, so no more than the limit is ever buffered.
    /// </summary>
    private static async Task<(JsonDocument? Body, IResult? Error)> ReadBodyAsync(HttpContext context)
    {
        // A web page may send text/plain or form bodies to any address without asking (no CORS
        // preflight), so a JSON API that accepted them could be driven by a page in a developer's
        // browser against a key-less local server. application/json always needs a preflight.
        if (!context.Request.HasJsonContentType())
        {
            return (null, Error(ErrorCodes.BadRequest, "Content-Type must be application/json", StatusCodes.Status415UnsupportedMediaType));
        }

        try
        {
            var document = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted).ConfigureAwait(false);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                document.Dispose();
                return (null, Error(ErrorCodes.BadRequest, "the body must be a JSON object"));
            }

            return (document, null);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            var limit = context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize;
            return (null, Error(ErrorCodes.BadRequest, $"body exceeds {limit} bytes", StatusCodes.Status413PayloadTooLarge));
        }
        catch (JsonException ex)
        {
            return (null, Error(ErrorCodes.BadRequest, "malformed JSON: " + ex.Message));
        }
    }

    private static IResult? RequiredName(JsonElement body, string field, string code, out string value)
    {
        value = string.Empty;
        if (!body.TryGetProperty(field, out var element) || element.ValueKind != JsonValueKind.String)
        {
            return Error(ErrorCodes.InvalidField, $"{field} is required and must be a string");
        }

        value = element.GetString()!;
        return NameRules.IsValid(value) ? null : Error(code, $"{field} must be 1-128 characters of A-Z a-z 0-9 _ - : . @ / = +");
    }

    private static IResult? OptionalName(JsonElement body, string field, out string? value)
    {
        value = null;
        if (!body.TryGetProperty(field, out _))
        {
            return null;
        }

        var bad = RequiredName(body, field, ErrorCodes.InvalidField, out var present);
        value = present;
        return bad;
    }

    private static ReadOnlyMemory<byte> RawJson(JsonElement element) =>
        JsonText.WithoutRawNewlines(JsonSerializer.SerializeToUtf8Bytes(element));

    private static IResult Error(string code, string message, int status = StatusCodes.Status400BadRequest) =>
        Results.Json(new { error = new { code, message } }, statusCode: status);
}
