using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using Microsoft.Extensions.Primitives;
using Switchboard.Options;

namespace Switchboard.Transports;

/// <summary>
/// The server's side of the permessage-deflate negotiation (RFC 7692 section 7.1): picks the first
/// acceptable offer in the client's <c>Sec-WebSocket-Extensions</c> and answers it within the node's
/// <see cref="CompressionOptions"/>. Needed because the node completes HTTP/1.1 upgrades itself
/// (<see cref="WebSocketUpgrade"/>), where the framework's negotiation does not run.
/// </summary>
internal static class DeflateNegotiation
{
    public const string ExtensionName = "permessage-deflate";

    private const string ServerNoContextTakeover = "server_no_context_takeover";
    private const string ClientNoContextTakeover = "client_no_context_takeover";
    private const string ServerMaxWindowBits = "server_max_window_bits";
    private const string ClientMaxWindowBits = "client_max_window_bits";

    // The largest window RFC 7692 allows, and what a peer may use when it announces none.
    private const int MaxWindowBits = 15;

    // zlib cannot compress with a 256-byte window, so .NET's deflate options start at 9; an offer that
    // insists on 8 is declined rather than answered with a window the peer did not allow.
    private const int MinSupportedWindowBits = 9;

    /// <summary>
    /// Accepts the first permessage-deflate offer that is valid and that the node can honour, giving
    /// the options for the node's socket and the response header value; false when there is none.
    /// </summary>
    public static bool TryNegotiate(
        StringValues extensionHeaders,
        CompressionOptions options,
        [NotNullWhen(true)] out WebSocketDeflateOptions? deflate,
        [NotNullWhen(true)] out string? response)
    {
        foreach (var header in extensionHeaders)
        {
            foreach (var offer in (header ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (TryAccept(offer, options, out deflate, out response))
                {
                    return true;
                }
            }
        }

        deflate = null;
        response = null;
        return false;
    }

    /// <summary>Answers one offer, or declines it: another extension, an unknown, repeated or malformed parameter (RFC 7692 section 5).</summary>
    private static bool TryAccept(string offer, CompressionOptions options, [NotNullWhen(true)] out WebSocketDeflateOptions? deflate, [NotNullWhen(true)] out string? response)
    {
        deflate = null;
        response = null;
        var parts = offer.Split(';', StringSplitOptions.TrimEntries);
        if (!string.Equals(parts[0], ExtensionName, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        var serverTakeover = options.ContextTakeover;
        var clientTakeover = options.ContextTakeover;
        var serverBits = options.WindowBits;
        int? clientBits = null;
        foreach (var parameter in parts.AsSpan(1))
        {
            var equals = parameter.IndexOf('=', StringComparison.Ordinal);
            var name = (equals < 0 ? parameter : parameter[..equals]).Trim();
            var value = equals < 0 ? null : Unquote(parameter[(equals + 1)..].Trim());
            if (!seen.Add(name))
            {
                return false;
            }

            switch (name)
            {
                case ServerNoContextTakeover when value is null:
                    serverTakeover = false;
                    break;
                case ClientNoContextTakeover when value is null:
                    clientTakeover = false;
                    break;
                case ServerMaxWindowBits when TryParseBits(value, out var bits):
                    // The client caps the window the node compresses with; the node may go lower still.
                    serverBits = Math.Min(serverBits, bits);
                    break;
                case ClientMaxWindowBits when value is null:
                    clientBits = MaxWindowBits;
                    break;
                case ClientMaxWindowBits when TryParseBits(value, out var bits):
                    clientBits = bits;
                    break;
                default:
                    return false;
            }
        }

        // A client that did not say it can limit its window may use the largest (section 7.1.2.2);
        // one that did is asked for the node's window, which bounds the node's inflater with takeover.
        var clientWindow = clientBits is { } offered ? Math.Min(offered, options.WindowBits) : MaxWindowBits;
        deflate = new WebSocketDeflateOptions
        {
            ServerContextTakeover = serverTakeover,
            ClientContextTakeover = clientTakeover,
            ServerMaxWindowBits = serverBits,
            ClientMaxWindowBits = clientWindow,
        };
        response = Response(deflate, clientBits is not null);
        return true;
    }

    private static string Response(WebSocketDeflateOptions deflate, bool clientAnnouncedWindow)
    {
        var response = new StringBuilder(ExtensionName);
        if (!deflate.ServerContextTakeover)
        {
            response.Append("; ").Append(ServerNoContextTakeover);
        }

        // The server may ask this even when the client did not offer it (section 7.1.1.2): the node's
        // inflater then holds no state between messages either.
        if (!deflate.ClientContextTakeover)
        {
            response.Append("; ").Append(ClientNoContextTakeover);
        }

        if (deflate.ServerMaxWindowBits < MaxWindowBits)
        {
            response.Append("; ").Append(ServerMaxWindowBits).Append('=').Append(deflate.ServerMaxWindowBits.ToString(CultureInfo.InvariantCulture));
        }

        // Only to a client that announced the parameter (section 7.1.2.2: otherwise it MUST NOT be sent).
        if (clientAnnouncedWindow)
        {
            response.Append("; ").Append(ClientMaxWindowBits).Append('=').Append(deflate.ClientMaxWindowBits.ToString(CultureInfo.InvariantCulture));
        }

        return response.ToString();
    }

    /// <summary>A window size as RFC 7692 writes it: 8 to 15, no leading zero; one the node cannot use (8) fails too.</summary>
    private static bool TryParseBits(string? value, out int bits)
    {
        bits = 0;
        return value is { Length: 1 or 2 } && value[0] != '0'
            && int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out bits)
            && bits is >= MinSupportedWindowBits and <= MaxWindowBits;
    }

    private static string Unquote(string value) =>
        value.Length >= 2 && value[0] == '"' && value[^1] == '"' ? value[1..^1] : value;
}
