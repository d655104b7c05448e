using Microsoft.Playwright;
using Xunit;

namespace Switchboard.Tests.Browser;

/// <summary>
/// Debian's Chromium driven by Playwright, started once for all browser tests. Playwright never
/// downloads a browser here: it is pointed at /usr/bin/chromium (apt-get install chromium).
/// </summary>
public sealed class ChromiumFixture : IAsyncLifetime
{
    public const string ExecutablePath = "/usr/bin/chromium";

    private static readonly string[] Arguments =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ];

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("Chromium was not started");

    public async Task InitializeAsync()
    {
        if (!File.Exists(ExecutablePath))
        {
            throw new InvalidOperationException($"{ExecutablePath} is missing: run ./scripts/test.sh, or apt-get install chromium");
        }

        // Playwright's 5 s default is short for a shared 2-core machine starting .NET processes;
        // every expectation still ends, just later, when something is really wrong.
        Assertions.SetDefaultExpectTimeout(20_000);
        _playwright = await Playwright.CreateAsync().WaitAsync(TimeSpan.FromSeconds(30));
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            Args = Arguments,
            Timeout = 30_000,
        });
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.CloseAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }

        _playwright?.Dispose();
    }
}
