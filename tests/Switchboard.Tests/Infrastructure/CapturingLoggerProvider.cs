using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Switchboard.Tests.Infrastructure;

/// <summary>
/// Keeps what a <see cref="TestServer"/> logs at <see cref="MinimumLevel"/> or above, so a test can
/// assert that nothing escaped as an error. Lower levels are only counted: a test that opens
/// thousands of connections must not measure its own log buffer as server memory.
/// </summary>
public sealed class CapturingLoggerProvider(LogLevel minimumLevel = LogLevel.Warning) : ILoggerProvider
{
    private readonly ConcurrentQueue<CapturedLogEntry> _entries = new();
    private long _seen;

    /// <summary>The lowest level kept.</summary>
    public LogLevel MinimumLevel { get; } = minimumLevel;

    /// <summary>Every entry logged, at any level.</summary>
    public long Seen => Interlocked.Read(ref _seen);

    /// <summary>The entries kept, in the order they were logged.</summary>
    public IReadOnlyList<CapturedLogEntry> Entries => [.. _entries];

    /// <summary>Entries at <see cref="LogLevel.Error"/> or <see cref="LogLevel.Critical"/>.</summary>
    public IReadOnlyList<CapturedLogEntry> Errors => [.. _entries.Where(e => e.Level >= LogLevel.Error)];

    /// <summary>Fails with every error-level entry (and its exception) when there is one.</summary>
    public void AssertNoErrors()
    {
        var errors = Errors;
        Assert.True(errors.Count == 0, $"the server logged {errors.Count} error(s):{Environment.NewLine}{string.Join(Environment.NewLine, errors.Take(20))}");
    }

    public ILogger CreateLogger(string categoryName) => new CapturingLogger(this, categoryName);

    public void Dispose()
    {
    }

    private void Add(CapturedLogEntry entry) => _entries.Enqueue(entry);

    private sealed class CapturingLogger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        // Everything is "enabled" so that it is counted; only entries at the minimum level are formatted and kept.
        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            ArgumentNullException.ThrowIfNull(formatter);
            Interlocked.Increment(ref owner._seen);
            if (logLevel >= owner.MinimumLevel)
            {
                owner.Add(new CapturedLogEntry(category, logLevel, eventId, formatter(state, exception), exception));
            }
        }
    }
}
