namespace Switchboard.Tests.Infrastructure;

/// <summary>The kinds of hostile input <see cref="MalformedFrameGenerator"/> produces.</summary>
public enum MalformedFrameCategory
{
    /// <summary>Random bytes in a text frame: printable noise, control characters, or arbitrary bytes (usually invalid UTF-8).</summary>
    RandomBytes,

    /// <summary>Random bytes in a binary frame, some behind a plausible or broken binary publish header.</summary>
    RandomBinary,

    /// <summary>A valid command cut short at a random byte.</summary>
    TruncatedJson,

    /// <summary>A valid command with bytes flipped, deleted, duplicated or inserted.</summary>
    MutatedJson,

    /// <summary>Known fields holding values of the wrong JSON type or range.</summary>
    WrongTypes,

    /// <summary>Arrays and objects nested far deeper than the parser's limit, balanced or not.</summary>
    DeepNesting,

    /// <summary>Numbers beyond any integer or double, and strings as long as a message may be.</summary>
    HugeValues,

    /// <summary>A valid command with an invalid UTF-8 sequence inside (overlong, surrogate, truncated, stray continuation).</summary>
    InvalidUtf8,

    /// <summary>A valid JSON command sent as a binary frame.</summary>
    BinaryWhereTextExpected,

    /// <summary>A command split over several WebSocket frames, sometimes with empty fragments or a split inside a character.</summary>
    Fragmented,

    /// <summary>Ops that do not exist, near misses of real ones, a missing op.</summary>
    UnknownOp,

    /// <summary>Several newline-separated commands in one frame, valid and malformed mixed.</summary>
    BatchedLines,

    /// <summary>A message larger than <c>Limits:MaxMessageBytes</c>, in one frame or several.</summary>
    Oversized,
}
