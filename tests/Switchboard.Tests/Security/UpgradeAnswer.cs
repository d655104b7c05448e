using System.Net;
using System.Text.Json;

namespace Switchboard.Tests.Security;

/// <summary>What the server answered to an upgrade request; <paramref name="Extensions"/> is its <c>Sec-WebSocket-Extensions</c>, if any.</summary>
public sealed record UpgradeAnswer(HttpStatusCode Status, string? RetryAfter, string Body, string? Extensions = null)
{
    /// <summary>Whether the server switched to WebSocket.</summary>
    public bool Upgraded => Status == HttpStatusCode.SwitchingProtocols;

    /// <summary><c>error.code</c> of a refusal's JSON body.</summary>
    public string? ErrorCode
    {
        get
        {
            using var document = JsonDocument.Parse(Body);
            return document.RootElement.GetProperty("error").GetProperty("code").GetString();
        }
    }
}
