namespace Switchboard.Options;

/// <summary>How a connection is given its user id before real authentication exists.</summary>
public sealed class AuthOptions
{
    /// <summary>
    /// INSECURE, development only: take the user id from the <c>?user=</c> query string, so anyone can
    /// claim to be anyone. Logged as a warning at start-up.
    /// </summary>
    public bool AllowQueryUser { get; set; }

    /// <summary>Whether connections without an identity are accepted as anonymous users (<c>anon-{session}</c>).</summary>
    public bool AllowAnonymous { get; set; } = true;
}
