namespace Switchboard.Options;

/// <summary>
/// How much of each room's stream is kept for recovery and the history API, and how much retained
/// history one room, one user and the whole node may hold. The options are broker-neutral; the
/// in-memory broker honours all of them, and a distributed broker documents which it honours.
/// </summary>
/// <remarks>
/// When a byte budget is reached, the oldest retained publications go first (of the room, or of the
/// node), except the per-user budget: a publication that would take its publisher over it is
/// delivered live but not kept. Publishing is never refused for a budget, so one tenant filling the
/// history cannot stop anyone from talking; a client recovering past a publication that was not kept
/// is told <c>recovered:false</c>.
/// </remarks>
public sealed class HistoryOptions
{
    /// <summary>Most publications kept per room; 0 keeps none (recovery then always reports <c>recovered:false</c> after a gap).</summary>
    public int Size { get; set; } = 100;

    /// <summary>
    /// How long a publication is kept. A room's stream (its offsets and epoch) is forgotten this long
    /// after its last publication once it has no members, so its next publication starts a new epoch.
    /// </summary>
    public double TtlSeconds { get; set; } = 300;

    /// <summary>
    /// Most bytes of history one room keeps (each publication counted as its encoded frame plus a fixed
    /// allowance for its objects, see <see cref="Brokers.Publication.RetainedBytes"/>). A new
    /// publication pushes the room's oldest out until it fits; one larger than this is not kept.
    /// </summary>
    public long MaxBytesPerRoom { get; set; } = 1024 * 1024;

    /// <summary>
    /// Most bytes of history the publications of one user may take on a node, over all rooms. A
    /// publication that would go over is delivered but not kept, until the user's older ones expire or
    /// are pushed out. Publications through the HTTP API belong to no user. Anonymous users count
    /// one per connection (<c>anon-{session}</c>), bounded by <c>Limits:MaxAnonymousConnectionsPerIp</c>.
    /// </summary>
    public long MaxBytesPerUser { get; set; } = 4 * 1024 * 1024;

    /// <summary>
    /// Most bytes of history the node keeps over all rooms (in-memory broker). Beyond, the node's oldest
    /// retained publications are pushed out, whatever their room.
    /// </summary>
    public long MaxBytesPerNode { get; set; } = 256L * 1024 * 1024;

    /// <summary>
    /// Whether publications to a room nobody has joined (on this node, since its stream began) are kept.
    /// Off: a room's history starts with its first member, so publishing through the HTTP API to rooms
    /// nobody reads keeps nothing; their offsets still advance. Turn on when backends publish into rooms
    /// that clients read later with <c>history</c>.
    /// </summary>
    public bool KeepUnjoinedRooms { get; set; }

    /// <summary>
    /// How long a publish's <c>idempotencyKey</c> is remembered in its room: a publish with the same key
    /// within this window appends nothing and answers with the first publication's offset and epoch.
    /// 0 turns idempotent publishing off (keys are then ignored).
    /// </summary>
    public double IdempotencyWindowSeconds { get; set; } = 300;

    /// <summary>
    /// Most idempotency keys the in-memory broker remembers per room (the oldest forgotten first), so
    /// that a client inventing a key per publish cannot grow a room without bound. The Redis broker
    /// keeps each key in Redis for the window instead.
    /// </summary>
    public int IdempotencyKeysPerRoom { get; set; } = 1000;
}
