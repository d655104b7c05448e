using Switchboard.Identity;
using Switchboard.Protocol;

namespace Switchboard.Connections;

public sealed partial class Connection
{
    private long _deadline = long.MaxValue;
    private int _deadlineCode;
    private string _deadlineReason = string.Empty;

    /// <summary>Publish rate of this connection; touched only by its receive loop.</summary>
    internal TokenBucket PublishBucket;

    /// <summary>Command rate of this connection; touched only by its receive loop.</summary>
    internal TokenBucket CommandBucket;

    /// <summary>Join and leave rate of this connection; touched only by its receive loop.</summary>
    internal TokenBucket JoinBucket;

    /// <summary>History and presence rate of this connection; touched only by its receive loop.</summary>
    internal TokenBucket ReadBucket;

    /// <summary>Bytes of history and presence replies this connection may still be sent; touched only by its receive loop.</summary>
    internal TokenBucket ReplyBytes;

    /// <summary>
    /// The publish rate of this connection's user, shared by all the user's connections on this node;
    /// set when the hub records the connection as one of its user's, null before.
    /// </summary>
    internal SharedTokenBucket? UserPublishBucket { get; set; }

    /// <summary>Rate-limited commands in a row; touched only by its receive loop.</summary>
    internal int RateLimitStrikes { get; set; }

    /// <summary>The client IP the per-IP limit counted this connection under, if any.</summary>
    internal string? CountedIp { get; set; }

    /// <summary>The user the per-user limit counted this connection under, if any.</summary>
    internal string? CountedUser { get; set; }

    /// <summary>
    /// Sets (or replaces) the identity, and with it the deadline: a token's expiry closes the
    /// connection with 4003 unless a refresh moves it.
    /// </summary>
    internal void Authenticate(ConnectionIdentity identity)
    {
        Volatile.Write(ref _identity, identity);
        if (identity.ExpiresAt is { } expires)
        {
            SetDeadline(expires, CloseCodes.TokenExpired, "token expired");
        }
        else
        {
            Volatile.Write(ref _deadline, long.MaxValue);
        }
    }

    /// <summary>Closes the connection with <paramref name="code"/> at <paramref name="when"/> unless moved again.</summary>
    internal void SetDeadline(DateTimeOffset when, int code, string reason)
    {
        _deadlineCode = code;
        _deadlineReason = reason;
        Volatile.Write(ref _deadline, when.ToUnixTimeMilliseconds());
    }

    /// <summary>Called periodically by the deadline watcher; closes the connection once its deadline passed.</summary>
    internal void CheckDeadline(DateTimeOffset now)
    {
        if (now.ToUnixTimeMilliseconds() >= Volatile.Read(ref _deadline))
        {
            Volatile.Write(ref _deadline, long.MaxValue);
            RequestClose(_deadlineCode, _deadlineReason);
        }
    }
}
