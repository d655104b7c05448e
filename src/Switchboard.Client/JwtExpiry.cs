using System.Buffers.Text;
using System.Text.Json;

namespace Switchboard.Client;

/// <summary>Reads a JWT's <c>exp</c> without validating it: the client only needs to know when to refresh.</summary>
internal static class JwtExpiry
{
    public static DateTimeOffset? Read(string token)
    {
        var parts = token.Split('.');
        if (parts.Length != 3)
        {
            return null;
        }

        try
        {
            var payload = Base64Url.DecodeFromChars(parts[1]);
            using var document = JsonDocument.Parse(payload);
            return document.RootElement.TryGetProperty("exp", out var exp) && exp.TryGetInt64(out var seconds)
                ? DateTimeOffset.FromUnixTimeSeconds(seconds)
                : null;
        }
        catch (Exception e) when (e is FormatException or JsonException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>
    /// When to refresh a token that expires at <paramref name="expires"/>: a fifth of its remaining life
    /// early, at least one second and at most a minute, so a short test token and an hour-long one both
    /// leave time for <c>GetToken</c> and the round trip.
    /// </summary>
    public static TimeSpan RefreshDelay(DateTimeOffset expires, DateTimeOffset now)
    {
        var remaining = expires - now;
        var margin = TimeSpan.FromTicks(Math.Clamp(remaining.Ticks / 5, TimeSpan.TicksPerSecond, TimeSpan.TicksPerMinute));
        var delay = remaining - margin;
        return delay < TimeSpan.Zero ? TimeSpan.Zero : delay;
    }
}
