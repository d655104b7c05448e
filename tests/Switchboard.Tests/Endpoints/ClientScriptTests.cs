using System.Net;
using System.Net.Http.Headers;
using Switchboard.Tests.Infrastructure;
using Xunit;

namespace Switchboard.Tests.Endpoints;

/// <summary>The JavaScript client served by the server itself: /switchboard.js and /switchboard.d.ts.</summary>
[Trait("Category", "integration")]
public sealed class ClientScriptTests : IAsyncLifetime
{
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task ScriptIsServedAsJavaScriptWithAnETagAndNoCache()
    {
        using var response = await _server.Http.GetAsync("switchboard.js");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/javascript; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        Assert.True(response.Headers.CacheControl?.NoCache, "the browser revalidates on every load");
        Assert.NotNull(response.Headers.ETag);
        Assert.False(response.Headers.ETag!.IsWeak);
        Assert.Equal("*", Assert.Single(response.Headers.GetValues("Access-Control-Allow-Origin")));
        Assert.Equal(await File.ReadAllBytesAsync(SourceFile("switchboard.js")), await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task TypeDeclarationsAreServedBesideTheScript()
    {
        using var response = await _server.Http.GetAsync("switchboard.d.ts");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/typescript; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        Assert.True(response.Headers.CacheControl?.NoCache);
        Assert.NotNull(response.Headers.ETag);
        Assert.Equal(await File.ReadAllBytesAsync(SourceFile("switchboard.d.ts")), await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task RevalidationWithTheCurrentETagIsAnsweredNotModifiedWithoutABody()
    {
        using var first = await _server.Http.GetAsync("switchboard.js");
        using var request = new HttpRequestMessage(HttpMethod.Get, "switchboard.js");
        request.Headers.IfNoneMatch.Add(first.Headers.ETag!);

        using var revalidated = await _server.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotModified, revalidated.StatusCode);
        Assert.Equal(first.Headers.ETag, revalidated.Headers.ETag);
        Assert.Empty(await revalidated.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task AStaleETagGetsTheWholeScript()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "switchboard.js");
        request.Headers.IfNoneMatch.Add(new EntityTagHeaderValue("\"stale\""));

        using var response = await _server.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("export class Switchboard", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    /// <summary>The committed client source, found above the test binaries, so the test proves the embedded copy is current.</summary>
    private static string SourceFile(string name)
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "clients", "js", name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"no clients/js/{name} above {AppContext.BaseDirectory}");
    }
}
