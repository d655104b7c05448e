using System.Text;

namespace Switchboard.Load.Modes;

/// <summary>
/// Chat-like text for compression figures: words drawn from a small everyday vocabulary with a fixed
/// seed, so runs are comparable. A repeated letter would compress a hundredfold and say nothing about
/// real traffic; English chat compresses roughly two to three times once messages are long enough.
/// </summary>
internal static class ChatText
{
    private static readonly string[] Words =
    [
        "the", "a", "to", "and", "is", "it", "you", "that", "in", "of", "for", "on", "we", "this", "be", "with",
        "are", "have", "not", "just", "can", "so", "but", "do", "at", "what", "was", "get", "if", "will", "me",
        "my", "all", "about", "out", "up", "one", "there", "they", "think", "know", "like", "now", "time", "good",
        "yes", "no", "ok", "thanks", "meeting", "tomorrow", "today", "deploy", "build", "broken", "fixed", "looks",
        "great", "sure", "maybe", "later", "lunch", "review", "branch", "merge", "ticket", "customer", "release",
        "server", "client", "room", "message", "please", "check", "again", "sorry", "late", "minutes", "call",
        "link", "doc", "draft", "numbers", "week", "friday", "monday", "agree", "idea", "question", "answer",
    ];

    /// <summary>Texts of exactly <paramref name="length"/> ASCII characters, different from each other.</summary>
    public static byte[][] Samples(int count, int length, int seed = 42)
    {
        var random = new Random(seed);
        var samples = new byte[count][];
        var text = new StringBuilder(length + 16);
        for (var i = 0; i < count; i++)
        {
            text.Clear();
            while (text.Length < length)
            {
                text.Append(Words[random.Next(Words.Length)]).Append(random.Next(12) == 0 ? ". " : " ");
            }

            samples[i] = Encoding.ASCII.GetBytes(text.ToString(0, length));
        }

        return samples;
    }
}
