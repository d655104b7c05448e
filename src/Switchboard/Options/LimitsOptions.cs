namespace Switchboard.Options;

/// <summary>Bounds on what one connection may send, hold and queue.</summary>
public sealed class LimitsOptions
{
    /// <summary>Largest message (all frames of it) a client may send; larger ones close the connection with 1009.</summary>
    public int MaxMessageBytes { get; set; } = 64 * 1024;

    /// <summary>Most messages waiting in one connection's outbound queue before it is closed as a slow consumer (4000).</summary>
    public int MaxQueuedMessages { get; set; } = 4096;

    /// <summary>Most bytes waiting in one connection's outbound queue before it is closed as a slow consumer (4000).</summary>
    public int MaxQueuedBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Most rooms one connection may be a member of at once; more gets a <c>too_many_rooms</c> error.</summary>
    public int MaxRoomsPerConnection { get; set; } = 128;

    /// <summary>
    /// Largest text frame the send loop builds by joining queued messages with newlines. Bigger batches
    /// mean fewer socket writes; this cap keeps one batch from delaying a connection's close or
    /// holding a large rented buffer.
    /// </summary>
    public int MaxBatchBytes { get; set; } = 32 * 1024;

    /// <summary>How long a closing connection has to complete the close handshake before it is aborted.</summary>
    public double CloseTimeoutSeconds { get; set; } = 5;

    /// <summary>Sustained publishes (publish, send, binary) per second per connection; beyond, <c>rate_limited</c> errors.</summary>
    public double PublishesPerSecond { get; set; } = 50;

    /// <summary>Publishes a connection may make in a burst before the sustained rate applies.</summary>
    public int PublishBurst { get; set; } = 100;

    /// <summary>Sustained commands of any kind per second per connection (joins, presence, history...).</summary>
    public double CommandsPerSecond { get; set; } = 200;

    /// <summary>Commands of any kind a connection may send in a burst.</summary>
    public int CommandBurst { get; set; } = 400;

    /// <summary>Rate-limited commands in a row after which the connection is closed with 4503: it is not backing off.</summary>
    public int RateLimitStrikes { get; set; } = 100;

    /// <summary>Most simultaneous connections of one user; one more is closed with 4504.</summary>
    public int MaxConnectionsPerUser { get; set; } = 100;

    /// <summary>
    /// Most members of one plain room (<c>/rooms/{room}</c>) on a node; one more is closed with 4504.
    /// Every frame in a plain room goes to every member, so its size is its cost per frame.
    /// </summary>
    public int MaxPlainRoomMembers { get; set; } = 1_000;

    /// <summary>Most simultaneous connections from one client address (an IPv6 client's /64); one more gets HTTP 429.</summary>
    public int MaxConnectionsPerIp { get; set; } = 10_000;

    /// <summary>New WebSocket connections accepted per second by this node (token bucket, burst equal to the rate); beyond, HTTP 503.</summary>
    public int AcceptsPerSecond { get; set; } = 20_000;

    /// <summary>
    /// New WebSocket connections accepted per second from one client address (an IPv6 client's /64);
    /// beyond, HTTP 429. Checked before the node-wide <see cref="AcceptsPerSecond"/>, so one address
    /// cannot spend everyone's accepts.
    /// </summary>
    public double AcceptsPerSecondPerIp { get; set; } = 1_000;

    /// <summary>How many upgrades one address may make at once before <see cref="AcceptsPerSecondPerIp"/> applies.</summary>
    public int AcceptBurstPerIp { get; set; } = 1_000;

    /// <summary>
    /// Most simultaneous anonymous connections (<c>Auth:AllowAnonymous</c>) from one client address; one
    /// more gets HTTP 429. Anonymous users have no per-user limit, so this is theirs.
    /// </summary>
    public int MaxAnonymousConnectionsPerIp { get; set; } = 100;

    /// <summary>
    /// Rooms with more members than this on a node send no <c>joined</c>/<c>left</c> events: in a room of
    /// n members every arrival costs n deliveries, so n arrivals cost n squared. The <c>presence</c>
    /// command still answers in rooms of any size.
    /// </summary>
    public int MaxMembersForPresenceEvents { get; set; } = 1000;

    /// <summary>Seconds a client has to send its complete upgrade request headers (slowloris protection).</summary>
    public double HandshakeTimeoutSeconds { get; set; } = 10;

    // ---- Costs per command (issue 11, item 5) ----

    /// <summary>
    /// Sustained <c>join</c> and <c>leave</c> commands per second per connection; beyond, <c>rate_limited</c>.
    /// Each one can send a presence event to every member of a room.
    /// </summary>
    public double JoinsPerSecond { get; set; } = 10;

    /// <summary>Joins and leaves a connection may make in a burst: enough to rejoin every room after a reconnect.</summary>
    public int JoinBurst { get; set; } = 256;

    /// <summary>
    /// Sustained <c>joined</c>/<c>left</c> events per second per room on a node. Beyond the burst,
    /// changes are held and coalesced: when the bucket has a token again, each user's net change
    /// since the last event is sent once (a user who joined and left meanwhile sends nothing).
    /// </summary>
    public double PresenceEventsPerSecond { get; set; } = 20;

    /// <summary>Presence events a room may send in a burst before they are coalesced.</summary>
    public int PresenceEventBurst { get; set; } = 100;

    /// <summary>Sustained <c>history</c> and <c>presence</c> commands per second per connection; beyond, <c>rate_limited</c>.</summary>
    public double ReadsPerSecond { get; set; } = 20;

    /// <summary><c>history</c> and <c>presence</c> commands a connection may make in a burst.</summary>
    public int ReadBurst { get; set; } = 50;

    /// <summary>
    /// Bytes of <c>history</c> and <c>presence</c> replies per second per connection. A read is refused
    /// (<c>rate_limited</c>) while the connection's reply budget is spent; its reply is charged once built.
    /// </summary>
    public double ReplyBytesPerSecond { get; set; } = 1024 * 1024;

    /// <summary>Reply bytes a connection may receive in a burst before <see cref="ReplyBytesPerSecond"/> applies.</summary>
    public int ReplyBurstBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>
    /// Most bytes of publications in one join (recovery) or history reply. A longer read keeps its newest
    /// publications that fit and, when a <c>since</c> was asked for, answers <c>recovered:false</c>: a
    /// reply larger than <see cref="MaxQueuedBytes"/> would close the joiner as a slow consumer on every retry.
    /// Half of <see cref="MaxQueuedBytes"/> applies when that is smaller (see <see cref="ReplyBytesCap"/>).
    /// </summary>
    public int MaxReplyBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// The bytes of publications one reply may really hold: <see cref="MaxReplyBytes"/>, but never more
    /// than half the outbound queue, so a reply always leaves room for the live traffic behind it.
    /// </summary>
    internal long ReplyBytesCap => Math.Min(MaxReplyBytes, MaxQueuedBytes / 2);

    /// <summary>
    /// Sustained publishes (publish, send, binary) per second per user across all the user's
    /// connections on this node; beyond, <c>rate_limited</c>. Without it a user's rate would be
    /// <see cref="PublishesPerSecond"/> times <see cref="MaxConnectionsPerUser"/>.
    /// </summary>
    public double UserPublishesPerSecond { get; set; } = 100;

    /// <summary>Publishes one user may make in a burst across its connections on this node.</summary>
    public int UserPublishBurst { get; set; } = 200;

    /// <summary>
    /// Members of rooms whose stream was lost (Redis restarted empty, trimmed it, offsets went backwards)
    /// that this node tells per second to re-join (<c>removed</c> with <c>stream_lost</c>, <c>rejoin:true</c>),
    /// with a burst of one second's worth. They stop receiving the room at once; only the message that
    /// makes them re-join waits, so that after Redis restarts empty the re-joins arrive spread over time.
    /// </summary>
    public double ResyncRoomsPerSecond { get; set; } = 200;
}
