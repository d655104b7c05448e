namespace Switchboard.Protocol;

/// <summary>
/// Rules for room names and user ids. Both are 1 to <see cref="MaxLength"/> ASCII characters from
/// <c>A-Z a-z 0-9</c> and <c>_ - : . @ / = +</c>. The narrow alphabet keeps names safe in URLs,
/// Redis keys, logs and metrics labels without escaping.
/// </summary>
public static class NameRules
{
    /// <summary>The longest room name or user id, in characters.</summary>
    public const int MaxLength = 128;

    /// <summary>Whether <paramref name="name"/> is a valid room name or user id.</summary>
    public static bool IsValid(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty || name.Length > MaxLength)
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!IsAllowed(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Whether <paramref name="name"/>, as UTF-8 bytes, is a valid room name or user id.</summary>
    public static bool IsValid(ReadOnlySpan<byte> name)
    {
        if (name.IsEmpty || name.Length > MaxLength)
        {
            return false;
        }

        foreach (var b in name)
        {
            if (!IsAllowed((char)b))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsAllowed(char c) =>
        char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or ':' or '.' or '@' or '/' or '=' or '+';
}
