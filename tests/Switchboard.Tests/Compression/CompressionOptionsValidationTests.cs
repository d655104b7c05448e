using Switchboard.Options;
using Xunit;

namespace Switchboard.Tests.Compression;

/// <summary>Start-up refuses compression settings the node cannot honour, naming the key.</summary>
[Trait("Category", "unit")]
public sealed class CompressionOptionsValidationTests
{
    [Fact]
    public void CompressionIsOffByDefaultWithoutContextTakeoverAndTheDefaultsAreValid()
    {
        var options = new SwitchboardOptions();

        Assert.False(options.Compression.Enabled);
        Assert.False(options.Compression.ContextTakeover);
        Assert.True(new SwitchboardOptionsValidator().Validate(null, options).Succeeded);
    }

    [Theory]
    [InlineData(8, 256, "Switchboard:Compression:WindowBits must be between 9 and 15")]
    [InlineData(16, 256, "Switchboard:Compression:WindowBits must be between 9 and 15")]
    [InlineData(15, -1, "Switchboard:Compression:MinMessageBytes must be at least 0")]
    public void ASettingTheNodeCannotHonourIsRefusedNamingItsKey(int windowBits, int minMessageBytes, string expected)
    {
        var options = new SwitchboardOptions { Compression = { Enabled = true, WindowBits = windowBits, MinMessageBytes = minMessageBytes } };

        var result = new SwitchboardOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains(expected, result.Failures!);
    }
}
