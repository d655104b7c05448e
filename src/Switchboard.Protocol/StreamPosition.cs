namespace Switchboard.Protocol;

/// <summary>
/// A place in a room's message stream: the last <paramref name="Offset"/> a client saw within the
/// stream named <paramref name="Epoch"/>. Offsets restart when the epoch changes.
/// </summary>
public readonly record struct StreamPosition(ulong Offset, string Epoch);
