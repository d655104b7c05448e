using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;
using Switchboard.Options;

namespace Switchboard.Endpoints;

/// <summary>
/// Serves the JavaScript client (<c>clients/js</c>), embedded in this assembly, at
/// <c>/switchboard.js</c> and its types at <c>/switchboard.d.ts</c> (<c>Paths:ClientScript</c> and
/// <c>Paths:ClientTypes</c>), so a page can
/// <c>import { Switchboard } from "/switchboard.js"</c> from the server it talks to and always get
/// the client that matches the server's protocol.
/// </summary>
internal static class ClientScriptEndpoints
{
    /// <summary>Manifest names set by <c>LogicalName</c> in Switchboard.csproj.</summary>
    internal const string ScriptResource = "Switchboard.ClientScripts.switchboard.js";

    internal const string TypesResource = "Switchboard.ClientScripts.switchboard.d.ts";

    public static void Map(IEndpointRouteBuilder endpoints, PathsOptions paths)
    {
        // Read and hashed once: the files are part of the build and never change while the node runs.
        var script = Load(ScriptResource);
        var types = Load(TypesResource);
        endpoints.MapGet(paths.ClientScript, (HttpContext context) => Serve(context, script, "text/javascript; charset=utf-8"));
        // There is no registered media type for TypeScript; this is the one Deno and most servers use.
        endpoints.MapGet(paths.ClientTypes, (HttpContext context) => Serve(context, types, "application/typescript; charset=utf-8"));
    }

    private static IResult Serve(HttpContext context, (byte[] Content, EntityTagHeaderValue ETag) file, string contentType)
    {
        // no-cache means "revalidate every time": a deploy that changes the client is picked up at
        // once, and an unchanged client costs a 304 (the result answers If-None-Match itself).
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers.XContentTypeOptions = "nosniff";
        // Module scripts are fetched with CORS: a page served from another origin (a dev server, the
        // app's own domain) may import the client. It is public code, read without credentials.
        context.Response.Headers.AccessControlAllowOrigin = "*";
        return Results.Bytes(file.Content, contentType, entityTag: file.ETag);
    }

    private static (byte[] Content, EntityTagHeaderValue ETag) Load(string name)
    {
        using var stream = typeof(ClientScriptEndpoints).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"embedded resource {name} is missing: Switchboard.csproj embeds clients/js");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        var content = buffer.ToArray();
        var hash = Convert.ToHexStringLower(SHA256.HashData(content).AsSpan(0, 16));
        return (content, new EntityTagHeaderValue($"\"{hash}\""));
    }
}
