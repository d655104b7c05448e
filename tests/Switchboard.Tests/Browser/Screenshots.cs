using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Switchboard.Tests.Browser;

/// <summary>
/// Screenshots of a test's steps, numbered in order, under bin/.../artifacts/browser/TEST/ (ignored by
/// git); each path is printed in the test output.
/// </summary>
public sealed class Screenshots(ITestOutputHelper output, string test)
{
    private int _step;

    public string Directory { get; } = Fresh(Path.Combine(AppContext.BaseDirectory, "artifacts", "browser", test));

    public async Task TakeAsync(IPage page, string step)
    {
        var path = Path.Combine(Directory, $"{++_step:00}-{step}.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true, Timeout = 10_000 });
        output.WriteLine("screenshot: " + path);
    }

    private static string Fresh(string directory)
    {
        // A previous run's pictures would mix with this run's.
        if (System.IO.Directory.Exists(directory))
        {
            System.IO.Directory.Delete(directory, recursive: true);
        }

        return System.IO.Directory.CreateDirectory(directory).FullName;
    }
}
