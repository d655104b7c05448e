using Xunit;

namespace Switchboard.Tests.Browser;

/// <summary>Browser tests share one Chromium and run one at a time: each starts server processes of its own.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class BrowserGroup : ICollectionFixture<ChromiumFixture>
{
    public const string Name = "Browser";
}
