namespace Switchboard.Protocol;

/// <summary>
/// One parsed client command. <see cref="Id"/> and <see cref="Data"/> are slices of the frame they
/// were parsed from: they stay valid only while that frame's buffer does, so a handler that keeps
/// them beyond the call must copy them.
/// </summary>
public readonly record struct ClientCommand
{
    /// <summary>What the client asks for.</summary>
    public required CommandOp Op { get; init; }

    /// <summary>The raw JSON of the <c>id</c> field (a number or a string), empty when absent.</summary>
    public ReadOnlyMemory<byte> Id { get; init; }

    /// <summary>The <c>room</c> field, validated against <see cref="NameRules"/>.</summary>
    public string? Room { get; init; }

    /// <summary>The <c>user</c> field of a <c>send</c>, validated against <see cref="NameRules"/>.</summary>
    public string? User { get; init; }

    /// <summary>The raw JSON of the <c>data</c> field, free of raw newlines.</summary>
    public ReadOnlyMemory<byte> Data { get; init; }

    /// <summary>The <c>since</c> position of a <c>join</c> or <c>history</c>, if any.</summary>
    public StreamPosition? Since { get; init; }

    /// <summary>The <c>token</c> of an <c>auth</c> or <c>refresh</c>.</summary>
    public string? Token { get; init; }

    /// <summary>
    /// The <c>idempotencyKey</c> of a <c>publish</c>, validated against <see cref="NameRules"/>: a
    /// retry with the same key in the same room within the window appends nothing and answers with
    /// the first publication's position.
    /// </summary>
    public string? IdempotencyKey { get; init; }

    /// <summary>The <c>limit</c> of a <c>history</c>, if any.</summary>
    public int? Limit { get; init; }

    /// <summary>Whether the client wants a reply.</summary>
    public bool HasId => !Id.IsEmpty;
}
