using System.Text.Json;
using System.Threading.Channels;

namespace Switchboard.Tests.Infrastructure;

/// <summary>
/// Received protocol messages in order: tests await the next one, or the first that matches while
/// the ones passed over stay available, in order, to later calls. Every wait has a timeout.
/// </summary>
public sealed class MessageInbox
{
    private readonly Channel<JsonElement> _messages = Channel.CreateUnbounded<JsonElement>();
    private readonly List<JsonElement> _skipped = [];

    public void Add(JsonElement message) => _messages.Writer.TryWrite(message);

    /// <summary>No more messages will come: waits fail at once rather than at their timeout.</summary>
    public void Complete() => _messages.Writer.TryComplete();

    public async Task<JsonElement> NextAsync(TimeSpan? timeout = null)
    {
        if (_skipped.Count > 0)
        {
            var first = _skipped[0];
            _skipped.RemoveAt(0);
            return first;
        }

        return await _messages.Reader.ReadAsync().AsTask().WaitAsync(timeout ?? ProtocolClient.DefaultTimeout);
    }

    public async Task<JsonElement> ExpectAsync(Func<JsonElement, bool> match, TimeSpan? timeout = null)
    {
        var index = _skipped.FindIndex(m => match(m));
        if (index >= 0)
        {
            var found = _skipped[index];
            _skipped.RemoveAt(index);
            return found;
        }

        using var deadline = new CancellationTokenSource(timeout ?? ProtocolClient.DefaultTimeout);
        while (true)
        {
            var message = await _messages.Reader.ReadAsync(deadline.Token);
            if (match(message))
            {
                return message;
            }

            _skipped.Add(message);
        }
    }
}
