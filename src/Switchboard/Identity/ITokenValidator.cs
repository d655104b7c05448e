namespace Switchboard.Identity;

/// <summary>Validates bearer tokens: at the upgrade, in the <c>auth</c> command, and on <c>refresh</c>.</summary>
public interface ITokenValidator
{
    /// <summary>Whether tokens can be validated at all (a key is configured).</summary>
    bool Enabled { get; }

    /// <summary>
    /// Validates <paramref name="token"/>. On success the result carries the identity; otherwise the
    /// close code (<c>TokenExpired</c> or <c>Unauthorized</c>) and a reason safe to show the client.
    /// </summary>
    ValueTask<IdentityResult> ValidateAsync(string token);
}
