using System.Text.Json;

namespace Switchboard.Client;

/// <summary>A direct message sent to this client's user.</summary>
public sealed class DirectMessage
{
    private readonly Payload _payload;
    private readonly JsonSerializerOptions? _json;

    internal DirectMessage(string? from, Payload payload, JsonSerializerOptions? json)
    {
        From = from;
        _payload = payload;
        _json = json;
    }

    /// <summary>The sending user, or null when a backend sent it through the HTTP API.</summary>
    public string? From { get; }

    /// <summary>The JSON data.</summary>
    public JsonElement Data => _payload.Element;

    /// <summary>The UTF-8 JSON text of <see cref="Data"/>.</summary>
    public ReadOnlyMemory<byte> Bytes => _payload.Bytes;

    /// <summary>Deserializes the data with System.Text.Json.</summary>
    public T? Deserialize<T>(JsonSerializerOptions? options = null) => _payload.Deserialize<T>(options ?? _json);
}
