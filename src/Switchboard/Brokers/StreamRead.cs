using Switchboard.Protocol;

namespace Switchboard.Brokers;

/// <summary>
/// What a broker returns when a room's stream is read: the stream's current top position, the
/// retained publications asked for (oldest first), and, when a <c>since</c> position was given,
/// whether every publication after it could be returned.
/// </summary>
public sealed record StreamRead(StreamPosition Top, IReadOnlyList<Publication> Publications, bool? Recovered);
