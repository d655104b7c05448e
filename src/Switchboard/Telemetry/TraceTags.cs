namespace Switchboard.Telemetry;

/// <summary>
/// Tag names of Switchboard's spans: OpenTelemetry's semantic conventions where one fits (messaging,
/// user, error), <c>switchboard.*</c> otherwise. Like the span names, they are public API for dashboards.
/// </summary>
internal static class TraceTags
{
    public const string MessagingSystem = "messaging.system";

    /// <summary>The value of <see cref="MessagingSystem"/>.</summary>
    public const string System = "switchboard";

    /// <summary>The room (or, for direct messages, the user) a message goes to.</summary>
    public const string Destination = "messaging.destination.name";

    /// <summary><c>send</c> for a publication or direct message, <c>process</c> for a delivery (the conventions' current names).</summary>
    public const string OperationType = "messaging.operation.type";

    /// <summary>Switchboard's own name of the operation: <c>publish</c>, <c>send</c>, <c>deliver</c>.</summary>
    public const string OperationName = "messaging.operation.name";

    public const string User = "user.id";
    public const string ErrorType = "error.type";
    public const string HttpStatus = "http.response.status_code";

    public const string Session = "switchboard.session";
    public const string CloseCode = "switchboard.close_code";

    /// <summary><c>deferred</c> when the connection arrived without a token and must send <c>auth</c> first.</summary>
    public const string Auth = "switchboard.auth";

    /// <summary>The publication's offset in its room's stream.</summary>
    public const string Offset = "switchboard.offset";

    /// <summary>How many members of this node a delivery was handed to.</summary>
    public const string Recipients = "switchboard.recipients";

    /// <summary>Whether a join or history read asked to recover from a position (<c>since</c>).</summary>
    public const string RecoveryRequested = "switchboard.recovery.requested";

    /// <summary>With <c>since</c>: whether nothing after it was missing (the reply's <c>recovered</c>).</summary>
    public const string Recovered = "switchboard.recovery.recovered";

    /// <summary>How many publications the read returned.</summary>
    public const string PublicationCount = "switchboard.publications";
}
