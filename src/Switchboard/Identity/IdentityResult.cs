namespace Switchboard.Identity;

/// <summary>The outcome of identifying a connection: a user id, or a refusal.</summary>
public readonly record struct IdentityResult(string? User, int RefusalStatus, string? RefusalReason)
{
    /// <summary>Accept the connection as <paramref name="user"/>.</summary>
    public static IdentityResult Accept(string user) => new(user, 0, null);

    /// <summary>Refuse the upgrade with an HTTP status.</summary>
    public static IdentityResult Refuse(int status, string reason) => new(null, status, reason);
}
