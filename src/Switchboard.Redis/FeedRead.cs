using Switchboard.Brokers;

namespace Switchboard.Redis;

/// <summary>A room's stream as one read saw it: its epoch, its top offset and the retained publications asked for, oldest first.</summary>
internal sealed record FeedRead(string Epoch, ulong Top, IReadOnlyList<Publication> Publications);
