namespace Switchboard.Options;

/// <summary>How a connection proves who it is.</summary>
public sealed class AuthOptions
{
    /// <summary>JWT validation. With neither a secret nor a public key, tokens are not accepted.</summary>
    public JwtOptions Jwt { get; set; } = new();

    /// <summary>Identity from the hosting app's own authentication (cookie, JwtBearer...), tried before any token.</summary>
    public AppAuthOptions App { get; set; } = new();

    /// <summary>
    /// INSECURE, development only: take the user id from the <c>?user=</c> query string, so anyone can
    /// claim to be anyone. Logged as a warning at start-up.
    /// </summary>
    public bool AllowQueryUser { get; set; }

    /// <summary>
    /// Whether connections without a token are accepted as anonymous users (<c>anon-{session}</c>).
    /// Off by default: production denies anonymous access unless configured.
    /// </summary>
    public bool AllowAnonymous { get; set; }

    /// <summary>
    /// Seconds a connection that arrived without a token has to send <c>{"op":"auth","token":...}</c>
    /// before it is closed with 4501.
    /// </summary>
    public double FirstMessageTimeoutSeconds { get; set; } = 5;
}
