using System.Buffers;

namespace Switchboard.Transports;

/// <summary>
/// <c>text/event-stream</c>: each message is one event, <c>id: ...</c> then <c>data: JSON</c>, and a
/// comment line (<c>:</c>) is the heartbeat. The default event type (<c>message</c>) is used, so a
/// browser's <c>EventSource.onmessage</c> sees every message.
/// </summary>
internal sealed class ServerSentEventsFraming : IStreamFraming
{
    public static readonly ServerSentEventsFraming Instance = new();

    public string ContentType => "text/event-stream";

    public bool CarriesIds => true;

    public ReadOnlySpan<byte> Heartbeat => ":\n\n"u8;

    public void WriteMessage(IBufferWriter<byte> output, ReadOnlySpan<byte> json, ReadOnlySpan<byte> id)
    {
        if (!id.IsEmpty)
        {
            output.Write("id: "u8);
            output.Write(id);
            output.Write("\n"u8);
        }

        output.Write("data: "u8);
        output.Write(json);
        output.Write("\n\n"u8);
    }
}
