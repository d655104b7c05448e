using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Switchboard.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Switchboard.Tests.Browser;

/// <summary>The operators' dashboard at <c>/dashboard</c> of the shipped host, in Chromium.</summary>
[Collection(BrowserGroup.Name)]
[Trait("Category", "external")]
public sealed partial class DashboardPageTests(ChromiumFixture chromium, ITestOutputHelper output)
{
    private const string Key = "dashboard-test-key-0123456789";
    private const int Burst = 200;

    [Fact]
    public async Task TheDashboardsCountersMoveWhenLoadRuns()
    {
        var shots = new Screenshots(output, nameof(TheDashboardsCountersMoveWhenLoadRuns));
        await using var node = await HostNode.StartAsync();
        await using var context = await chromium.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        context.SetDefaultTimeout(20_000);
        var page = await context.NewPageAsync();
        await page.GotoAsync(new Uri(node.BaseUri, "dashboard").ToString());
        await Expect(page.Locator("#stream-state")).ToHaveAttributeAsync("data-state", "live");
        await Expect(page.Locator("#connections")).ToHaveAttributeAsync("data-value", "0");
        await Expect(page.Locator("#publications-total")).ToHaveAttributeAsync("data-value", "0");
        await Expect(page.Locator("#nodes")).ToContainTextAsync("(this node)");
        await Expect(page.Locator("#nodes-scope")).ToContainTextAsync("this node only");
        await shots.TakeAsync(page, "idle");

        var ws = new Uri("ws://" + node.BaseUri.Authority + "/");
        var clients = new List<ProtocolClient>();
        using var load = new CancellationTokenSource();
        Task? trickle = null;
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var client = await ProtocolClient.ConnectAsync(new Uri(ws, $"ws?user=load{i}"));
                clients.Add(client);
                await client.ExpectAsync("welcome");
                await client.RequestAsync("""{"op":"join","room":"busy"}""");
            }

            await Expect(page.Locator("#connections")).ToHaveAttributeAsync("data-value", "3");
            for (var i = 0; i < Burst; i++)
            {
                await node.PublishAsync("busy", $"burst {i}");
            }

            await Expect(page.Locator("#publications-total")).ToHaveAttributeAsync("data-value", Burst.ToString(System.Globalization.CultureInfo.InvariantCulture));
            // Three members each received the burst: at least 3 x 200 messages out.
            await Expect(page.Locator("#messages-out-total")).ToHaveAttributeAsync("data-value", AtLeast600());
            await Expect(page.Locator("#top-rooms")).ToContainTextAsync("busy");

            // A steady trickle while the busiest-rooms table is looked at: it shows the rate of the last second.
            trickle = Task.Run(async () =>
            {
                while (!load.IsCancellationRequested)
                {
                    await node.PublishAsync("busy", "trickle");
                    // Pacing of the load (about 50 publications a second), not a wait for anything.
                    await Task.Delay(20, CancellationToken.None);
                }
            });
            await Expect(page.Locator("#busy-rooms")).ToContainTextAsync("busy");
            await Expect(page.Locator("#messages-out-rate")).Not.ToHaveAttributeAsync("data-value", "0");
            await Expect(page.Locator("#messages-chart")).ToHaveAttributeAsync("data-samples", NonZero());
            await shots.TakeAsync(page, "under-load");
        }
        finally
        {
            await load.CancelAsync();
            if (trickle is not null)
            {
                await trickle.WaitAsync(TimeSpan.FromSeconds(15));
            }

            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }

        // Clients gone: the gauge follows.
        await Expect(page.Locator("#connections")).ToHaveAttributeAsync("data-value", "0");
        await shots.TakeAsync(page, "after-load");
    }

    [Fact]
    public async Task WithApiKeysConfiguredTheDashboardAsksForOneAndThenStreams()
    {
        var shots = new Screenshots(output, nameof(WithApiKeysConfiguredTheDashboardAsksForOneAndThenStreams));
        await using var node = await HostNode.StartAsync(new Dictionary<string, string>
        {
            ["Switchboard__Api__AllowWithoutKey"] = "false",
            ["Switchboard__Api__Keys__0"] = Key,
        });
        await using var context = await chromium.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 390, Height = 844 } });
        context.SetDefaultTimeout(20_000);
        var page = await context.NewPageAsync();
        await page.GotoAsync(new Uri(node.BaseUri, "dashboard").ToString());
        await Expect(page.Locator("#stream-state")).ToHaveAttributeAsync("data-state", "unauthorized");
        await Expect(page.Locator("#key-form")).ToBeVisibleAsync();
        await shots.TakeAsync(page, "asks-for-key");

        await page.FillAsync("#key", "wrong-" + Key);
        await page.ClickAsync("#key-form button");
        await Expect(page.Locator("#key-message")).ToContainTextAsync("refused");

        await page.FillAsync("#key", Key);
        await page.ClickAsync("#key-form button");
        await Expect(page.Locator("#stream-state")).ToHaveAttributeAsync("data-state", "live");
        await Expect(page.Locator("#key-form")).ToBeHiddenAsync();
        await shots.TakeAsync(page, "live-phone");
    }

    [GeneratedRegex(@"^([6-9]\d{2}|\d{4,})$")]
    private static partial Regex AtLeast600();

    [GeneratedRegex(@"^[1-9]\d*$")]
    private static partial Regex NonZero();
}
