using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Unicode;
using Switchboard.Protocol;

namespace Switchboard.Tests.Infrastructure;

/// <summary>
/// A deterministic source of hostile <c>/ws</c> messages: the same seed always yields the same
/// sequence, so a failure is reproduced by its seed and case index. Each case states what the server
/// must do with it: close with 1007 (invalid UTF-8 in a text message), close with 1009 (over
/// <c>Limits:MaxMessageBytes</c>), or answer (or ignore) it and keep the connection open.
/// </summary>
/// <remarks>
/// Two combinations are deliberately never generated, because the outcome would depend on how the
/// server happens to chunk its reads: a message that is both oversize and invalid UTF-8, and an
/// invalid UTF-8 message split into fragments (the server may close before later fragments arrive,
/// and the peer's reset could then race the close frame).
/// </remarks>
public sealed class MalformedFrameGenerator
{
    private static readonly string[] ValidOps = ["join", "leave", "publish", "send", "presence", "history", "auth", "refresh"];

    private static readonly string[] NearMissOps =
    [
        "JOIN", "Join", "join ", " join", "joinx", "publish\\u0000", "pub", "", "subscribe", "unsubscribe", "ping", "pong",
        "close", "welcome", "message", "reply", "error", "direct", "__proto__", "constructor", "null", "\u00e9", "\ud83d\ude00",
        "\\u006aoin", "p\\u0075blish", "publish\\n", "history\\t", "leave\\\\",
    ];

    private static readonly string[] InvalidUtf8Sequences =
    [
        "C080", "C1BF", "E08080", "EDA080", "EDBFBF", "F4908080", "F888808080", "FE", "FF", "80", "BF", "C3", "E282", "F09F98", "C328", "E28228",
    ];

    private static readonly (MalformedFrameCategory Category, int Weight)[] Weights =
    [
        (MalformedFrameCategory.RandomBytes, 8),
        (MalformedFrameCategory.RandomBinary, 8),
        (MalformedFrameCategory.TruncatedJson, 10),
        (MalformedFrameCategory.MutatedJson, 14),
        (MalformedFrameCategory.WrongTypes, 12),
        (MalformedFrameCategory.DeepNesting, 7),
        (MalformedFrameCategory.HugeValues, 9),
        (MalformedFrameCategory.InvalidUtf8, 4),
        (MalformedFrameCategory.BinaryWhereTextExpected, 5),
        (MalformedFrameCategory.Fragmented, 9),
        (MalformedFrameCategory.UnknownOp, 7),
        (MalformedFrameCategory.BatchedLines, 5),
        (MalformedFrameCategory.Oversized, 2),
    ];

    private readonly Random _random;
    private readonly int _maxMessageBytes;
    private readonly string _joinedRoom;
    private readonly string[] _rooms;
    private readonly string[] _users;
    private int _next;

    /// <param name="seed">Fixes the whole sequence.</param>
    /// <param name="maxMessageBytes">The server's <c>Limits:MaxMessageBytes</c>.</param>
    /// <param name="joinedRoom">A room the fuzzing connections have joined, so some publishes go through.</param>
    public MalformedFrameGenerator(int seed, int maxMessageBytes, string joinedRoom)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessageBytes, 1024);
        _random = new Random(seed);
        _maxMessageBytes = maxMessageBytes;
        _joinedRoom = joinedRoom;
        // Valid names: most are unjoined on purpose; the joined room appears twice so publishes often go through.
        _rooms = [joinedRoom, joinedRoom, "fuzz-other", "a", "chat:lobby", "x/y=z+1@h.t", new string('r', NameRules.MaxLength)];
        _users = ["fuzzer0", "nobody", "u", "user:42", new string('u', NameRules.MaxLength)];
    }

    /// <summary>The next <paramref name="count"/> cases.</summary>
    public IReadOnlyList<MalformedFrame> Next(int count) => [.. Enumerable.Range(0, count).Select(_ => Next())];

    /// <summary>The next case.</summary>
    public MalformedFrame Next()
    {
        var category = PickCategory();
        while (true)
        {
            var (type, payload, fragments) = Generate(category);
            var invalidText = type == WebSocketMessageType.Text && !Utf8.IsValid(payload);
            var oversize = payload.Length > _maxMessageBytes;
            if (oversize && (category != MalformedFrameCategory.Oversized || invalidText))
            {
                // Too large for its category (a batch of long lines, say): draw again.
                continue;
            }

            if (invalidText)
            {
                fragments = [payload.Length];
            }

            int? expected = invalidText ? CloseCodes.InvalidPayload : oversize ? CloseCodes.MessageTooBig : null;
            return new MalformedFrame(_next++, category, type, payload, fragments, expected);
        }
    }

    private MalformedFrameCategory PickCategory()
    {
        var roll = _random.Next(Weights.Sum(w => w.Weight));
        foreach (var (category, weight) in Weights)
        {
            if (roll < weight)
            {
                return category;
            }

            roll -= weight;
        }

        throw new InvalidOperationException("unreachable");
    }

    private (WebSocketMessageType Type, byte[] Payload, int[] FragmentEnds) Generate(MalformedFrameCategory category)
    {
        switch (category)
        {
            case MalformedFrameCategory.RandomBinary:
                return Whole(WebSocketMessageType.Binary, RandomBinary());
            case MalformedFrameCategory.BinaryWhereTextExpected:
                return Whole(WebSocketMessageType.Binary, Utf8Bytes(ValidCommand()));
            case MalformedFrameCategory.Fragmented:
                return Fragmented();
            case MalformedFrameCategory.Oversized:
                return Oversized();
            default:
                return Whole(WebSocketMessageType.Text, TextPayload(category));
        }
    }

    private byte[] TextPayload(MalformedFrameCategory category) => category switch
    {
        MalformedFrameCategory.RandomBytes => RandomText(),
        MalformedFrameCategory.TruncatedJson => Truncated(),
        MalformedFrameCategory.MutatedJson => Mutated(),
        MalformedFrameCategory.WrongTypes => Utf8Bytes(WrongTypes()),
        MalformedFrameCategory.DeepNesting => Utf8Bytes(DeepNesting()),
        MalformedFrameCategory.HugeValues => Utf8Bytes(HugeValues()),
        MalformedFrameCategory.InvalidUtf8 => InvalidUtf8(),
        MalformedFrameCategory.UnknownOp => Utf8Bytes(UnknownOp()),
        MalformedFrameCategory.BatchedLines => BatchedLines(),
        _ => throw new ArgumentOutOfRangeException(nameof(category), category, "not a text category"),
    };

    private static (WebSocketMessageType, byte[], int[]) Whole(WebSocketMessageType type, byte[] payload) => (type, payload, [payload.Length]);

    // ---- categories ----

    private byte[] RandomText()
    {
        var length = _random.Next(0, 300);
        switch (_random.Next(4))
        {
            case 0:
                return [.. Enumerable.Range(0, length).Select(_ => (byte)_random.Next(0x20, 0x7F))];
            case 1:
                return [.. Enumerable.Range(0, length).Select(_ => (byte)_random.Next(0x00, 0x80))];
            case 2:
                var bytes = new byte[length + 1];
                _random.NextBytes(bytes);
                return bytes;
            default:
                var text = new StringBuilder();
                while (text.Length < length)
                {
                    // Any scalar value, noncharacters and NUL included; surrogates are not scalar values.
                    var scalar = _random.Next(0, 0x110000);
                    if (scalar is < 0xD800 or > 0xDFFF)
                    {
                        text.Append(char.ConvertFromUtf32(scalar));
                    }
                }

                return Utf8Bytes(text.ToString());
        }
    }

    private byte[] RandomBinary()
    {
        var payload = new byte[_random.Next(0, 300)];
        _random.NextBytes(payload);
        switch (_random.Next(6))
        {
            case 0:
                return payload;
            case 1:
                // A well-formed binary publish: to the joined room it goes through, elsewhere it is not_joined.
                return BinaryFrames.EncodePublish(Pick(_rooms), payload);
            case 2:
                // The room length points past the end of the frame.
                return [BinaryFrames.PublishKind, (byte)_random.Next(1, 256), .. payload.Take(_random.Next(0, 4))];
            case 3:
                // A room of forbidden characters.
                return [BinaryFrames.PublishKind, 3, (byte)' ', (byte)'\n', 0xFF, .. payload];
            case 4:
                // The server-to-client kind, which a client must not send.
                return [BinaryFrames.MessageKind, 1, (byte)'a', .. payload];
            default:
                return [];
        }
    }

    private byte[] Truncated()
    {
        var command = Utf8Bytes(ValidCommand());
        return command[.._random.Next(0, command.Length)];
    }

    private byte[] Mutated()
    {
        const string Structural = "{}[]\":,\\ \t\r\n0123456789-+.eE truefalsnl";
        var bytes = Utf8Bytes(ValidCommand()).ToList();
        var mutations = _random.Next(1, 5);
        for (var m = 0; m < mutations && bytes.Count > 0; m++)
        {
            var at = _random.Next(bytes.Count);
            switch (_random.Next(6))
            {
                case 0:
                    bytes[at] = (byte)Structural[_random.Next(Structural.Length)];
                    break;
                case 1:
                    bytes.RemoveAt(at);
                    break;
                case 2:
                    bytes.Insert(at, (byte)Structural[_random.Next(Structural.Length)]);
                    break;
                case 3:
                    var length = _random.Next(1, Math.Min(64, bytes.Count - at) + 1);
                    bytes.InsertRange(at, bytes.GetRange(at, length));
                    break;
                case 4:
                    var other = _random.Next(bytes.Count);
                    (bytes[at], bytes[other]) = (bytes[other], bytes[at]);
                    break;
                default:
                    // Rarely a raw high byte: usually invalid UTF-8, sometimes completing a sequence.
                    bytes[at] = _random.Next(4) == 0 ? (byte)_random.Next(0x80, 0x100) : (byte)_random.Next(0x20, 0x7F);
                    break;
            }
        }

        return [.. bytes];
    }

    private string WrongTypes()
    {
        string[] wrongForString = ["5", "-1.5e3", "null", "true", "[]", "[\"join\"]", "{}", "{\"op\":\"join\"}"];
        var fields = new List<string>();
        var op = Pick(ValidOps);
        fields.Add(_random.Next(5) == 0 ? "\"op\":" + Pick(wrongForString) : $"\"op\":\"{op}\"");
        var wrong = new Dictionary<string, string[]>(StringComparer.Ordinal)
        {
            ["room"] = [.. wrongForString, "\"\"", "\"bad room\"", "\"\\ud800\"", "\"caf\u00e9\""],
            ["user"] = [.. wrongForString, "\"\"", "\"who?\"", "\"\\udfff\""],
            ["id"] = ["{}", "[]", "true", "false", "null", "[1]", "{\"id\":1}", "\"" + new string('i', 200) + "\""],
            ["data"] = ["", "undefined", "NaN", "Infinity", "'single'", "\"unterminated", "{\"a\":}", "[1,]", "01", "+1", ".5", "0x10"],
            ["since"] = ["\"x\"", "5", "[]", "null", "{\"offset\":\"1\",\"epoch\":\"e\"}", "{\"offset\":-1,\"epoch\":\"e\"}", "{\"offset\":1.5,\"epoch\":\"e\"}",
                "{}", "{\"epoch\":\"e\"}", "{\"offset\":1}", "{\"offset\":1,\"epoch\":5}", "{\"offset\":1,\"epoch\":\"\\ud800\"}", "{\"offset\":1,\"epoch\":\"e\",\"offset\":[]}"],
            ["limit"] = ["\"5\"", "-1", "0", "1.5", "99999999999", "null", "[]", "{}", "true"],
            ["token"] = ["5", "[]", "{}", "null", "true", "\"\"", "\"\\ud800\""],
        };
        foreach (var (name, values) in wrong)
        {
            var roll = _random.Next(4);
            if (roll == 0)
            {
                fields.Add($"\"{name}\":{Pick(values)}");
            }
            else if (roll == 1)
            {
                fields.Add($"\"{name}\":{ValidField(name)}");
            }
        }

        Shuffle(fields);
        return "{" + string.Join(",", fields) + "}";
    }

    private string DeepNesting()
    {
        // Around the parser's depth limit of 64, and far beyond it, as far as the message limit allows.
        var depth = _random.Next(3) == 0 ? _random.Next(60, 70) : _random.Next(2, (_maxMessageBytes - 200) / 8);
        var arrays = new string('[', depth) + new string(']', depth);
        var objects = string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth);
        return _random.Next(7) switch
        {
            0 => $"{{\"op\":\"publish\",\"room\":\"{_joinedRoom}\",\"data\":{arrays},\"id\":1}}",
            1 => $"{{\"op\":\"publish\",\"room\":\"{_joinedRoom}\",\"data\":{objects}}}",
            2 => arrays,
            3 => $"{{\"op\":\"publish\",\"room\":\"{_joinedRoom}\",\"data\":{new string('[', depth)}}}",
            4 => $"{{\"op\":\"join\",\"room\":\"{Pick(_rooms)}\",\"x\":{arrays}}}",
            5 => $"{{\"op\":\"history\",\"room\":\"{_joinedRoom}\",\"id\":2,\"since\":{objects}}}",
            _ => objects,
        };
    }

    private string HugeValues()
    {
        var room = Pick(_rooms);
        var room2 = new string('r', _random.Next(NameRules.MaxLength + 1, _maxMessageBytes / 2));
        var big = new string('x', _random.Next(1, _maxMessageBytes - 200));
        var digits = "9" + new string('9', _random.Next(20, 400));
        return _random.Next(12) switch
        {
            0 => $"{{\"op\":\"presence\",\"room\":\"{room}\",\"id\":{digits}}}",
            1 => $"{{\"op\":\"presence\",\"room\":\"{room}\",\"id\":1e999999}}",
            2 => $"{{\"op\":\"history\",\"room\":\"{room}\",\"id\":3,\"limit\":{Pick(["1e308", "2147483648", digits, "-" + digits, "4.9e-324"])}}}",
            3 => $"{{\"op\":\"join\",\"room\":\"{room}\",\"id\":4,\"since\":{{\"offset\":{Pick(["18446744073709551616", "1e30", "-1", digits, "18446744073709551615"])},\"epoch\":\"e\"}}}}",
            4 => $"{{\"op\":\"join\",\"room\":\"{room2}\",\"id\":5}}",
            5 => $"{{\"op\":\"publish\",\"room\":\"{_joinedRoom}\",\"data\":\"{big}\"}}",
            6 => $"{{\"op\":\"refresh\",\"token\":\"{big}\",\"id\":6}}",
            7 => $"{{\"op\":\"{big}\"}}",
            8 => $"{{\"op\":\"send\",\"user\":\"{room2}\",\"data\":1}}",
            9 => $"{{\"op\":\"publish\",\"room\":\"{_joinedRoom}\",\"data\":{Pick(["1e400", digits, "-" + digits, "0." + digits, digits + "e" + digits])}}}",
            10 => $"{{\"op\":\"history\",\"room\":\"{room}\",\"id\":\"{new string('i', _random.Next(100, 200))}\"}}",
            _ => $"{{\"op\":\"send\",\"user\":\"{Pick(_users)}\",\"data\":[{string.Join(",", Enumerable.Repeat(digits, 5))}],\"{big[..Math.Min(big.Length, 1000)]}\":0}}",
        };
    }

    private byte[] InvalidUtf8()
    {
        var command = Utf8Bytes(_random.Next(4) == 0 ? PaddedPublish(_random.Next(100, _maxMessageBytes - 64)) : ValidCommand());
        var sequence = Convert.FromHexString(Pick(InvalidUtf8Sequences));
        var at = _random.Next(command.Length + 1);
        return [.. command.AsSpan(0, at), .. sequence, .. command.AsSpan(at)];
    }

    private (WebSocketMessageType, byte[], int[]) Fragmented()
    {
        var type = WebSocketMessageType.Text;
        byte[] payload;
        switch (_random.Next(5))
        {
            case 0:
                payload = Truncated();
                break;
            case 1:
                payload = Mutated();
                break;
            case 2:
                type = WebSocketMessageType.Binary;
                payload = BinaryFrames.EncodePublish(_joinedRoom, Utf8Bytes(RandomString()));
                break;
            default:
                // Non-ASCII text, so that some cuts fall inside a character.
                payload = Utf8Bytes(_random.Next(3) == 0 ? PaddedPublish(_random.Next(100, _maxMessageBytes)) : ValidCommand());
                break;
        }

        return (type, payload, Cuts(payload.Length, _random.Next(2, 9)));
    }

    private (WebSocketMessageType, byte[], int[]) Oversized()
    {
        // Mostly just over the limit, where an off-by-one would hide; sometimes far over it.
        var size = _random.Next(2) == 0 ? _maxMessageBytes + _random.Next(1, 300) : _maxMessageBytes + _random.Next(1, 3 * _maxMessageBytes);
        var payload = _random.Next(3) == 0 ? [.. Enumerable.Range(0, size).Select(_ => (byte)_random.Next(0x20, 0x7F))] : Utf8Bytes(PaddedPublish(size));
        var type = _random.Next(4) == 0 ? WebSocketMessageType.Binary : WebSocketMessageType.Text;
        return (type, payload, _random.Next(2) == 0 ? [payload.Length] : Cuts(payload.Length, _random.Next(2, 7)));
    }

    private string UnknownOp()
    {
        var room = Pick(_rooms);
        return _random.Next(5) switch
        {
            0 => $"{{\"room\":\"{room}\",\"id\":7}}",
            1 => $"{{\"op\":\"{Pick(NearMissOps)}\",\"room\":\"{room}\",\"id\":8}}",
            2 => $"{{\"op\":\"join\",\"op\":\"{Pick(NearMissOps)}\",\"room\":\"{room}\"}}",
            3 => $"{{\"op\":\"{RandomString()}\",\"data\":{RandomJson(2)}}}",
            _ => $"{{\"op\":\"{Pick(NearMissOps)}\"}}",
        };
    }

    private byte[] BatchedLines()
    {
        var lines = new List<string>();
        var count = _random.Next(2, 13);
        for (var i = 0; i < count; i++)
        {
            lines.Add(_random.Next(6) switch
            {
                0 => "",
                1 => Pick([" ", "\t", "\r", "  \t "]),
                2 => WrongTypes(),
                3 => UnknownOp(),
                4 => Encoding.UTF8.GetString(Truncated()).Replace("\uFFFD", "", StringComparison.Ordinal).Replace("\n", "", StringComparison.Ordinal),
                _ => ValidCommand(),
            });
        }

        return Utf8Bytes(string.Join(_random.Next(2) == 0 ? "\n" : "\r\n", lines));
    }

    // ---- building blocks ----

    /// <summary>A command the server accepts (though it may answer with an error, such as not_joined).</summary>
    private string ValidCommand()
    {
        var op = _random.Next(3) == 0 ? "publish" : Pick(ValidOps);
        var fields = new List<string> { $"\"op\":\"{op}\"" };
        switch (op)
        {
            case "send":
                fields.Add("\"user\":" + ValidField("user"));
                fields.Add("\"data\":" + ValidField("data"));
                break;
            case "publish":
                fields.Add("\"room\":" + ValidField("room"));
                fields.Add("\"data\":" + ValidField("data"));
                break;
            case "auth" or "refresh":
                fields.Add("\"token\":" + ValidField("token"));
                break;
            default:
                fields.Add("\"room\":" + ValidField("room"));
                if (op is "join" or "history" && _random.Next(3) == 0)
                {
                    fields.Add("\"since\":" + ValidField("since"));
                }

                if (op == "history" && _random.Next(2) == 0)
                {
                    fields.Add("\"limit\":" + ValidField("limit"));
                }

                break;
        }

        if (_random.Next(3) != 0)
        {
            fields.Add("\"id\":" + ValidField("id"));
        }

        if (_random.Next(6) == 0)
        {
            fields.Add($"\"{RandomString()}\":{RandomJson(2)}");
        }

        Shuffle(fields);
        var separator = _random.Next(8) == 0 ? ", \t" : ",";
        return (_random.Next(8) == 0 ? " { " : "{") + string.Join(separator, fields) + "}" + (_random.Next(8) == 0 ? " \t\r\n" : "");
    }

    private string ValidField(string name) => name switch
    {
        "room" => $"\"{Pick(_rooms)}\"",
        "user" => $"\"{Pick(_users)}\"",
        "id" => _random.Next(3) switch
        {
            0 => _random.Next(-1000, 1000000).ToString(CultureInfo.InvariantCulture),
            1 => $"\"{RandomString()}\"",
            _ => Pick(["0", "-0", "1.5", "1e3", "\"\"", "\"\\u0000\""]),
        },
        "data" => RandomJson(3),
        "since" => $"{{\"offset\":{_random.Next(0, 100)},\"epoch\":\"{Pick(["e", "0123456789abcdef", ""])}\"}}",
        "limit" => _random.Next(1, 1000).ToString(CultureInfo.InvariantCulture),
        "token" => $"\"{Pick(["a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "not-a-jwt", "eyJhbGciOiJIUzI1NiJ9.e30.c2ln", RandomString()])}\"",
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "no such field"),
    };

    /// <summary>
    /// A publish to the joined room whose data string pads it to exactly <paramref name="size"/> bytes
    /// (or the bare command, when that is already longer). The padding is mostly ASCII with some
    /// two-byte characters, so that fragment cuts can fall inside one.
    /// </summary>
    private string PaddedPublish(int size)
    {
        var bare = $"{{\"op\":\"publish\",\"room\":\"{_joinedRoom}\",\"data\":\"\"}}";
        var padding = new StringBuilder();
        var bytes = bare.Length;
        while (bytes < size)
        {
            if (size - bytes >= 2 && _random.Next(20) == 0)
            {
                padding.Append('\u00e9');
                bytes += 2;
            }
            else
            {
                padding.Append('x');
                bytes++;
            }
        }

        return bare.Insert(bare.Length - 2, padding.ToString());
    }

    private string RandomJson(int depth)
    {
        var roll = _random.Next(depth <= 0 ? 5 : 7);
        switch (roll)
        {
            case 0:
                return _random.Next(-100000, 100000).ToString(CultureInfo.InvariantCulture);
            case 1:
                return Pick(["0", "-0", "1.5", "-2.25e-3", "1E+2", "123456789012345678901234567890", "true", "false", "null"]);
            case 2 or 3 or 4:
                return $"\"{RandomString()}\"";
            case 5:
                return "[" + string.Join(",", Enumerable.Range(0, _random.Next(0, 5)).Select(_ => RandomJson(depth - 1))) + "]";
            default:
                return "{" + string.Join(",", Enumerable.Range(0, _random.Next(0, 5)).Select(_ => $"\"{RandomString()}\":{RandomJson(depth - 1)}")) + "}";
        }
    }

    /// <summary>The inside of a JSON string literal: letters, escapes (a lone surrogate among them) and non-ASCII characters.</summary>
    private string RandomString()
    {
        string[] pieces =
        [
            "a", "b", "z", "0", " ", "lobby", "-", ":", "\\\"", "\\\\", "\\/", "\\n", "\\r", "\\t", "\\b", "\\f", "\\u0000", "\\u00e9", "\\ud83d\\ude00",
            "\\ud800", "\\udc00", "\u00e9", "\u4e2d", "\ud83d\ude00", "\u200b", "\ufeff", "\ufffe",
        ];
        var text = new StringBuilder();
        var length = _random.Next(0, 12);
        for (var i = 0; i < length; i++)
        {
            text.Append(Pick(pieces));
        }

        return text.ToString();
    }

    /// <summary>Ascending fragment ends for <paramref name="length"/> bytes in <paramref name="count"/> fragments; some may be empty.</summary>
    private int[] Cuts(int length, int count)
    {
        var ends = Enumerable.Range(0, count - 1).Select(_ => _random.Next(0, length + 1)).Append(length).Order().ToArray();
        return ends;
    }

    private string Pick(string[] items) => items[_random.Next(items.Length)];

    private void Shuffle<T>(List<T> items)
    {
        for (var i = items.Count - 1; i > 0; i--)
        {
            var j = _random.Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    private static byte[] Utf8Bytes(string text) => Encoding.UTF8.GetBytes(text);
}
