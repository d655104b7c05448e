using System.Text.Json;

namespace Switchboard.Client;

/// <summary>A publication received in a room, live or recovered.</summary>
public sealed class RoomMessage
{
    private readonly Payload _payload;
    private readonly JsonSerializerOptions? _json;

    internal RoomMessage(string room, string? from, ulong offset, Payload payload, JsonSerializerOptions? json)
    {
        Room = room;
        From = from;
        Offset = offset;
        _payload = payload;
        _json = json;
    }

    /// <summary>The room.</summary>
    public string Room { get; }

    /// <summary>The publishing user, or null when a backend published through the HTTP API.</summary>
    public string? From { get; }

    /// <summary>The publication's place in the room's stream (1, 2, 3, ... within an epoch).</summary>
    public ulong Offset { get; }

    /// <summary>Whether the payload is binary (published as a binary frame).</summary>
    public bool IsBinary => _payload.IsBinary;

    /// <summary>The JSON data. Throws for a binary message (<see cref="IsBinary"/>); read <see cref="Bytes"/> instead.</summary>
    public JsonElement Data => _payload.Element;

    /// <summary>The raw payload: the binary bytes, or the UTF-8 JSON text of <see cref="Data"/>.</summary>
    public ReadOnlyMemory<byte> Bytes => _payload.Bytes;

    /// <summary>Deserializes the payload (JSON data, or binary bytes that hold JSON) with System.Text.Json.</summary>
    public T? Deserialize<T>(JsonSerializerOptions? options = null) => _payload.Deserialize<T>(options ?? _json);

    /// <inheritdoc/>
    public override string ToString() => $"{Room}#{Offset} from {From ?? "(server)"}";
}
