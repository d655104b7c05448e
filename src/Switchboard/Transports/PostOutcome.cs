namespace Switchboard.Transports;

/// <summary>What became of a body posted to an HTTP stream's session.</summary>
internal enum PostOutcome
{
    /// <summary>Queued for the session's receive loop.</summary>
    Accepted,

    /// <summary>The session's inbox is full: the client posts faster than its commands run (429).</summary>
    Full,

    /// <summary>The session is over (404, as for an unknown session).</summary>
    Closed,
}
