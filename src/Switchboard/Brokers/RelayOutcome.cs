namespace Switchboard.Brokers;

/// <summary>What became of a POST of commands forwarded to the node that holds its session.</summary>
public enum RelayOutcome
{
    /// <summary>Queued for the session's receive loop (202).</summary>
    Accepted,

    /// <summary>The session's inbox is full (429).</summary>
    Full,

    /// <summary>No such session on its node, or it is over, or its node is gone (404).</summary>
    UnknownSession,

    /// <summary>The POST did not prove the identity the stream is bound to (403).</summary>
    Forbidden,

    /// <summary>The broker could not send the post: nothing was queued (503).</summary>
    Unavailable,

    /// <summary>The holder did not answer in time: the post may or may not have been queued (504).</summary>
    NoAnswer,
}
