using System.Net.WebSockets;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Switchboard.Protocol;
using Switchboard.Tests.Infrastructure;

namespace Switchboard.Tests.Hostile;

/// <summary>
/// What the fuzz test saw, from all its connections at once: each case's outcome, every frame the
/// server sent checked against the protocol, and the failures, each naming its case and the seed.
/// </summary>
internal sealed class FuzzReport(int seed)
{
    /// <summary>After this many failures the run stops: a broken server would otherwise time out case after case.</summary>
    public const int MaxFailures = 20;

    private static readonly HashSet<string> ServerOps = new(["welcome", "message", "direct", "joined", "left", "reply", "error"], StringComparer.Ordinal);

    private static readonly HashSet<string> DocumentedErrorCodes = typeof(ErrorCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.IsLiteral && f.FieldType == typeof(string))
        .Select(f => (string)f.GetRawConstantValue()!)
        .ToHashSet(StringComparer.Ordinal);

    // Deeper than the server accepts in a command (64), so a nested publication it forwards still parses.
    private static readonly JsonDocumentOptions ParseOptions = new() { MaxDepth = 256 };

    private readonly Lock _lock = new();
    private readonly List<string> _failures = [];
    private readonly SortedDictionary<string, int> _outcomes = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, int> _errorCodes = new(StringComparer.Ordinal);
    private readonly Dictionary<int, int> _closeCodes = [];
    private int _cases;

    public int Seed { get; } = seed;

    public bool ShouldStop
    {
        get
        {
            lock (_lock)
            {
                return _failures.Count >= MaxFailures;
            }
        }
    }

    public IReadOnlyList<string> Failures
    {
        get
        {
            lock (_lock)
            {
                return [.. _failures];
            }
        }
    }

    public int Cases
    {
        get
        {
            lock (_lock)
            {
                return _cases;
            }
        }
    }

    /// <summary>How often each close code ended a case (0 for "stayed open").</summary>
    public IReadOnlyDictionary<int, int> CloseCodes
    {
        get
        {
            lock (_lock)
            {
                return new Dictionary<int, int>(_closeCodes);
            }
        }
    }

    public void Fail(MalformedFrame frame, string what)
    {
        lock (_lock)
        {
            _failures.Add($"{what} -- after {frame} (seed {Seed})");
        }
    }

    /// <summary>Counts how <paramref name="frame"/> ended: 0 when the connection stayed open, else the close code.</summary>
    public void Record(MalformedFrame frame, int closeCode)
    {
        lock (_lock)
        {
            _cases++;
            var key = $"{frame.Category} close={closeCode}";
            _outcomes[key] = _outcomes.GetValueOrDefault(key) + 1;
            _closeCodes[closeCode] = _closeCodes.GetValueOrDefault(closeCode) + 1;
        }
    }

    /// <summary>Checks one frame the server sent while <paramref name="frame"/> was being handled.</summary>
    public void Observe(MalformedFrame frame, ReceivedFrame received)
    {
        ArgumentNullException.ThrowIfNull(received);
        if (received.Type == WebSocketMessageType.Binary)
        {
            if (!BinaryFrames.TryDecodeMessage(received.Data, out _, out _, out _, out _))
            {
                Fail(frame, "the server sent a binary frame without a valid message header: " + Convert.ToHexString(received.Data.AsSpan(0, Math.Min(64, received.Data.Length))));
            }

            return;
        }

        foreach (var line in Encoding.UTF8.GetString(received.Data).Split('\n'))
        {
            ObserveLine(frame, line);
        }
    }

    public string Summary()
    {
        lock (_lock)
        {
            return $"seed {Seed}, {_cases} cases{Environment.NewLine}" +
                string.Join(Environment.NewLine, _outcomes.Select(o => $"  {o.Key}: {o.Value}")) + Environment.NewLine +
                "error replies: " + string.Join(", ", _errorCodes.Select(e => $"{e.Key} {e.Value}"));
        }
    }

    private void ObserveLine(MalformedFrame frame, string line)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line, ParseOptions);
        }
        catch (JsonException ex)
        {
            Fail(frame, $"the server sent a line that is not JSON ({ex.Message}): {Shorten(line)}");
            return;
        }

        using (document)
        {
            var root = document.RootElement;
            var op = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("op", out var o) && o.ValueKind == JsonValueKind.String ? o.GetString()! : null;
            if (op is null || !ServerOps.Contains(op))
            {
                Fail(frame, "the server sent a message with no known op: " + Shorten(line));
                return;
            }

            if (op != "error")
            {
                return;
            }

            var code = root.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()! : "(none)";
            lock (_lock)
            {
                _errorCodes[code] = _errorCodes.GetValueOrDefault(code) + 1;
            }

            if (!DocumentedErrorCodes.Contains(code) || code == ErrorCodes.Internal)
            {
                Fail(frame, $"the server answered with error code '{code}': {Shorten(line)}");
            }
        }
    }

    private static string Shorten(string text) => text.Length <= 300 ? text : text[..300] + "...";
}
