using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Switchboard.Hosting;

/// <summary>
/// A file compiled into this assembly (the demo and dashboard pages), served from memory. Read once;
/// its ETag is its content hash, so a browser revalidates cheaply and never keeps a stale page after
/// an upgrade (<c>Cache-Control: no-cache</c> means "ask first", not "do not store").
/// </summary>
internal sealed class EmbeddedAsset
{
    private readonly byte[] _content;
    private readonly string _contentType;
    private readonly EntityTagHeaderValue _etag;

    private EmbeddedAsset(byte[] content, string contentType)
    {
        _content = content;
        _contentType = contentType;
        _etag = new EntityTagHeaderValue("\"" + Convert.ToHexStringLower(SHA256.HashData(content).AsSpan(0, 8)) + "\"");
    }

    /// <summary>
    /// Loads the resource named <paramref name="logicalName"/> (see the EmbeddedResource items of
    /// Switchboard.csproj); <paramref name="transform"/>, if given, rewrites its text once (for settings a page needs).
    /// </summary>
    public static EmbeddedAsset Load(string logicalName, string contentType, Func<string, string>? transform = null)
    {
        using var stream = typeof(EmbeddedAsset).Assembly.GetManifestResourceStream(logicalName)
            ?? throw new InvalidOperationException($"embedded resource {logicalName} is missing from the Switchboard assembly");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        var content = transform is null ? copy.ToArray() : System.Text.Encoding.UTF8.GetBytes(transform(System.Text.Encoding.UTF8.GetString(copy.ToArray())));
        return new EmbeddedAsset(content, contentType);
    }

    /// <summary>The asset as a response (304 when the browser's copy is current).</summary>
    public IResult Result(HttpContext context)
    {
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers.XContentTypeOptions = "nosniff";
        return Results.Bytes(_content, _contentType, entityTag: _etag);
    }
}
