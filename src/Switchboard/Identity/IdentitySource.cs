namespace Switchboard.Identity;

/// <summary>Where a connection's identity came from, which decides what <c>refresh</c> may do with it.</summary>
public enum IdentitySource
{
    /// <summary>A token Switchboard validated (at the upgrade, in <c>auth</c>, or in <c>refresh</c>); <c>refresh</c> replaces it.</summary>
    Token,

    /// <summary>The hosting app's own authentication (its cookie, its JwtBearer scheme...); the app renews it, so <c>refresh</c> is refused.</summary>
    App,

    /// <summary>Not proven: anonymous, or the development <c>?user=</c>.</summary>
    Unverified,
}
