using System.Buffers;

namespace Switchboard.Transports;

/// <summary>
/// <c>application/x-ndjson</c>: each message is one line of JSON, for clients without
/// <c>EventSource</c> (a <c>fetch</c> body reader, <c>curl -N</c>). The heartbeat is an empty line,
/// which clients skip. Lines carry no event id: such clients recover rooms with <c>since</c>, as on <c>/ws</c>.
/// </summary>
internal sealed class NdjsonFraming : IStreamFraming
{
    public static readonly NdjsonFraming Instance = new();

    public string ContentType => "application/x-ndjson";

    public bool CarriesIds => false;

    public ReadOnlySpan<byte> Heartbeat => "\n"u8;

    public void WriteMessage(IBufferWriter<byte> output, ReadOnlySpan<byte> json, ReadOnlySpan<byte> id)
    {
        output.Write(json);
        output.Write("\n"u8);
    }
}
