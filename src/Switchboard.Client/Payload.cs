using System.Text.Json;

namespace Switchboard.Client;

/// <summary>The bytes of a received payload, with a JSON view parsed on first use.</summary>
internal sealed class Payload(ReadOnlyMemory<byte> bytes, bool binary)
{
    private JsonElement? _element;

    public ReadOnlyMemory<byte> Bytes { get; } = bytes;

    public bool IsBinary { get; } = binary;

    public JsonElement Element
    {
        get
        {
            if (IsBinary)
            {
                throw new InvalidOperationException("a binary message has no JSON data: read Bytes, or Deserialize<T>() if the bytes are JSON");
            }

            // A benign race: two readers may both parse; each gets an equal element.
            return _element ??= JsonElementFrom(Bytes);
        }
    }

    public T? Deserialize<T>(JsonSerializerOptions? options) => JsonSerializer.Deserialize<T>(Bytes.Span, options);

    private static JsonElement JsonElementFrom(ReadOnlyMemory<byte> json)
    {
        var reader = new Utf8JsonReader(json.Span);
        return JsonElement.ParseValue(ref reader);
    }
}
