using Xunit;

namespace Switchboard.Tests.Infrastructure;

/// <summary>
/// Tests that measure the whole test process, such as its managed heap before and after thousands of
/// connections. They run alone, after the parallel tests, so that no other test's servers and
/// clients are counted as theirs.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideMeasurement
{
    public const string Name = "Process-wide measurement";
}
