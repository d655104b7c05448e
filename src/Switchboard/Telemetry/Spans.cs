using System.Diagnostics;

namespace Switchboard.Telemetry;

/// <summary>
/// Starting and finishing Switchboard's spans. Every method costs a listener check and nothing else
/// when nobody listens (<see cref="ActivitySource.StartActivity(string, ActivityKind)"/> then returns
/// null); tags are only built for a listener, and only set on spans it records.
/// </summary>
internal static class Spans
{
    private static ActivitySource Source => SwitchboardTracing.Source;

    /// <summary>Starts the connect span as a child of the current activity (the upgrade request's).</summary>
    public static Activity? StartConnect() => Source.StartActivity(SwitchboardTracing.ConnectSpan, ActivityKind.Internal);

    /// <summary>
    /// Starts a span about a room (or the user of a direct message), a child of the current activity.
    /// The <paramref name="destination"/> (and, for messaging spans, the system and operation) are
    /// creation tags, as OpenTelemetry's messaging conventions ask, so that a sampler can decide on them.
    /// </summary>
    public static Activity? Start(string name, string destination, ActivityKind kind = ActivityKind.Internal, string? operationType = null, string? operationName = null)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        return Source.StartActivity(name, kind, default(ActivityContext), CreationTags(destination, operationType, operationName));
    }

    /// <summary>
    /// Starts the delivery span of a publication on this node: a child of <paramref name="parent"/> (the
    /// publisher's context, perhaps from another node), or a root when the publication carries none.
    /// Never a child of whatever happens to be current: the deliverer may be running another
    /// publisher's code. <paramref name="previous"/> is what <see cref="EndDeliver"/> restores.
    /// </summary>
    public static Activity? StartDeliver(string room, ActivityContext parent, out Activity? previous)
    {
        previous = null;
        if (!Source.HasListeners())
        {
            return null;
        }

        previous = Activity.Current;
        if (parent == default && previous is not null)
        {
            Activity.Current = null;
        }

        var activity = Source.StartActivity(SwitchboardTracing.DeliverSpan, ActivityKind.Consumer, parent, CreationTags(room, "process", "deliver"));
        if (activity is null && previous is not null && Activity.Current != previous)
        {
            Activity.Current = previous;
        }

        return activity;
    }

    /// <summary>Stops a delivery span and puts back the activity that was current before it.</summary>
    public static void EndDeliver(Activity? activity, Activity? previous)
    {
        if (activity is null)
        {
            return;
        }

        // Stop makes the span's parent current, which for a parent from a context is nothing.
        activity.Stop();
        if (Activity.Current != previous)
        {
            Activity.Current = previous;
        }
    }

    /// <summary>Starts <paramref name="start"/> (a loop that outlives any request) with no current activity, so that it belongs to no trace.</summary>
    public static Task Detached(Func<Task> start)
    {
        var current = Activity.Current;
        if (current is null)
        {
            return start();
        }

        Activity.Current = null;
        try
        {
            return start();
        }
        finally
        {
            Activity.Current = current;
        }
    }

    /// <summary>Records a session established by a connect span: its id, its user, or that it must still authenticate.</summary>
    public static void Established(Activity? connect, string session, string? user)
    {
        if (connect is not { IsAllDataRequested: true, IsStopped: false })
        {
            return;
        }

        connect.SetTag(TraceTags.Session, session);
        if (user is null)
        {
            connect.SetTag(TraceTags.Auth, "deferred");
        }
        else
        {
            connect.SetTag(TraceTags.User, user);
        }
    }

    /// <summary>Records a WebSocket refused after the upgrade, with its close code.</summary>
    public static void Refused(Activity? connect, int closeCode, string reason)
    {
        if (connect is not { IsStopped: false })
        {
            return;
        }

        connect.SetStatus(ActivityStatusCode.Error, reason);
        if (connect.IsAllDataRequested)
        {
            connect.SetTag(TraceTags.CloseCode, closeCode);
            connect.SetTag(TraceTags.ErrorType, "refused");
        }
    }

    /// <summary>Records an upgrade answered with an HTTP status instead.</summary>
    public static void RefusedUpgrade(Activity? connect, int status, string reason)
    {
        if (connect is not { IsStopped: false })
        {
            return;
        }

        connect.SetStatus(ActivityStatusCode.Error, reason);
        if (connect.IsAllDataRequested)
        {
            connect.SetTag(TraceTags.HttpStatus, status);
            connect.SetTag(TraceTags.ErrorType, "refused");
        }
    }

    /// <summary>Marks a span failed by a protocol error answered to the client (<c>not_joined</c>, <c>unavailable</c>...).</summary>
    public static void Failed(Activity? activity, string code, string message)
    {
        if (activity is not { IsStopped: false })
        {
            return;
        }

        activity.SetStatus(ActivityStatusCode.Error, message);
        if (activity.IsAllDataRequested)
        {
            activity.SetTag(TraceTags.ErrorType, code);
        }
    }

    /// <summary>Marks a span failed by an exception.</summary>
    public static void Failed(Activity? activity, Exception exception)
    {
        if (activity is not { IsStopped: false })
        {
            return;
        }

        activity.SetStatus(ActivityStatusCode.Error, exception.Message);
        if (activity.IsAllDataRequested)
        {
            activity.SetTag(TraceTags.ErrorType, exception.GetType().FullName);
            activity.AddException(exception);
        }
    }

    private static TagList CreationTags(string destination, string? operationType, string? operationName)
    {
        var tags = new TagList();
        if (operationType is not null)
        {
            tags.Add(TraceTags.MessagingSystem, TraceTags.System);
            tags.Add(TraceTags.OperationType, operationType);
            tags.Add(TraceTags.OperationName, operationName);
        }

        tags.Add(TraceTags.Destination, destination);
        return tags;
    }
}
