using Xunit;

namespace Switchboard.Tests.Infrastructure;

/// <summary>
/// Tests whose correct outcome depends on the machine answering within a fraction of a second (for
/// example a 0.5 s pong timeout that a well-behaved client must meet). They run alone, after the
/// parallel tests, so that a thousand-connection test on a 2-core machine cannot starve them.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TimingSensitive
{
    public const string Name = "Timing-sensitive";
}
