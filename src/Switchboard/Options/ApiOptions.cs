namespace Switchboard.Options;

/// <summary>Who may call the HTTP API (<c>/api/*</c>).</summary>
public sealed class ApiOptions
{
    /// <summary>
    /// Accepted API keys, sent as <c>Authorization: Bearer KEY</c> or <c>X-Api-Key: KEY</c>. With none,
    /// the API refuses every call unless <see cref="AllowWithoutKey"/> is set.
    /// </summary>
    public List<string> Keys { get; set; } = [];

    /// <summary>INSECURE, development only: serve the API without a key.</summary>
    public bool AllowWithoutKey { get; set; }
}
