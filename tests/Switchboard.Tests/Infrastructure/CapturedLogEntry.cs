using Microsoft.Extensions.Logging;

namespace Switchboard.Tests.Infrastructure;

/// <summary>One log entry a <see cref="CapturingLoggerProvider"/> kept.</summary>
public sealed record CapturedLogEntry(string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception)
{
    public override string ToString() =>
        $"[{Level}] {Category} ({EventId.Id}{(EventId.Name is null ? "" : " " + EventId.Name)}): {Message}" +
        (Exception is null ? "" : Environment.NewLine + "    " + Exception);
}
