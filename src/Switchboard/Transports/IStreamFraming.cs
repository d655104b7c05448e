using System.Buffers;

namespace Switchboard.Transports;

/// <summary>
/// How an HTTP stream frames the protocol's server messages: server-sent events or newline-delimited
/// JSON. The transport is the same; only the bytes around each message differ.
/// </summary>
internal interface IStreamFraming
{
    /// <summary>The response's content type.</summary>
    string ContentType { get; }

    /// <summary>Whether each event carries an id (the stream's position, see <see cref="StreamCursor"/>).</summary>
    bool CarriesIds { get; }

    /// <summary>What keeps an idle stream alive through proxies; clients ignore it.</summary>
    ReadOnlySpan<byte> Heartbeat { get; }

    /// <summary>Writes one protocol message (one JSON object without raw newlines) with its event id, if any.</summary>
    void WriteMessage(IBufferWriter<byte> output, ReadOnlySpan<byte> json, ReadOnlySpan<byte> id);
}
