using System.Text;
using System.Text.Json;
using Switchboard.Protocol;
using Xunit;

namespace Switchboard.Tests.Protocol;

/// <summary>Unit tests of the wire protocol library: the command parser, the encoders, the binary header and the close code table.</summary>
[Trait("Category", "unit")]
public sealed class CommandParserTests
{
    // ---- CommandParser: what parses ----

    [Theory]
    [InlineData("join", CommandOp.Join)]
    [InlineData("leave", CommandOp.Leave)]
    [InlineData("publish", CommandOp.Publish)]
    [InlineData("presence", CommandOp.Presence)]
    [InlineData("history", CommandOp.History)]
    public void EveryRoomOpParsesWithItsRoom(string op, CommandOp expected)
    {
        var command = Parse($$"""{"op":"{{op}}","room":"lobby","data":1}""");
        Assert.Equal(expected, command.Op);
        Assert.Equal("lobby", command.Room);
        Assert.False(command.HasId);
    }

    [Fact]
    public void SendParsesWithItsUserAndData()
    {
        var command = Parse("""{"op":"send","user":"bob","data":{"text":"psst"}}""");
        Assert.Equal(CommandOp.Send, command.Op);
        Assert.Equal("bob", command.User);
        Assert.Null(command.Room);
        Assert.Equal("""{"text":"psst"}""", Text(command.Data));
    }

    [Theory]
    [InlineData("auth", CommandOp.Auth)]
    [InlineData("refresh", CommandOp.Refresh)]
    public void AuthAndRefreshParseWithTheirToken(string op, CommandOp expected)
    {
        var command = Parse($$"""{"op":"{{op}}","token":"eyJ.x.y","id":1}""");
        Assert.Equal(expected, command.Op);
        Assert.Equal("eyJ.x.y", command.Token);
        Assert.Null(command.Room);
    }

    [Theory]
    [InlineData("""{"op":"auth"}""")]
    [InlineData("""{"op":"auth","token":""}""")]
    [InlineData("""{"op":"refresh","token":7}""")]
    public void AuthAndRefreshWithoutATokenStringAreAnInvalidField(string json)
    {
        var error = Reject(json, out _);
        Assert.Equal(ErrorCodes.InvalidField, error.Code);
        Assert.Contains("token", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NumericIdIsKeptAsRawJson()
    {
        var command = Parse("""{"op":"join","room":"a","id":42}""");
        Assert.True(command.HasId);
        Assert.Equal("42", Text(command.Id));
    }

    [Fact]
    public void StringIdIsKeptAsRawJsonWithItsQuotesAndEscapes()
    {
        var command = Parse("""{"op":"join","room":"a","id":"req-\"7\""}""");
        Assert.Equal("""
            "req-\"7\""
            """, Text(command.Id));
    }

    [Fact]
    public void FieldOrderIsFree()
    {
        var command = Parse("""{"data":[1,2],"id":"x","room":"r","op":"publish"}""");
        Assert.Equal(CommandOp.Publish, command.Op);
        Assert.Equal("r", command.Room);
        Assert.Equal("[1,2]", Text(command.Data));
        Assert.Equal("\"x\"", Text(command.Id));
    }

    [Fact]
    public void UnknownFieldsOfAnyKindAreIgnored()
    {
        var command = Parse("""{"op":"publish","extra":{"deep":[1,{"op":"leave"}]},"room":"r","flag":true,"n":null,"data":"d","more":[["x"]]}""");
        Assert.Equal(CommandOp.Publish, command.Op);
        Assert.Equal("r", command.Room);
        Assert.Equal("\"d\"", Text(command.Data));
    }

    [Theory]
    [InlineData("""{"text":"hi","n":[1,2,{"x":null}]}""")]
    [InlineData("""[1,"two",{"three":3}]""")]
    [InlineData("\"a string with \\\"quotes\\\", \\\\ and \\n escapes\"")]
    [InlineData("-12.5e3")]
    [InlineData("0")]
    [InlineData("true")]
    [InlineData("false")]
    [InlineData("null")]
    [InlineData("{ \"spaced\" :  [ 1 , 2 ] }")]
    [InlineData("{}")]
    [InlineData("[]")]
    [InlineData("\"caf\u00e9 \\u00e9\"")]
    public void DataOfEveryJsonKindIsKeptByteForByte(string data)
    {
        var command = Parse("{\"op\":\"publish\",\"room\":\"r\",\"data\":" + data + ",\"id\":1}");
        Assert.Equal(data, Text(command.Data));
    }

    [Fact]
    public void RawNewlinesInsideDataBecomeSpaces()
    {
        var command = Parse("{\"op\":\"publish\",\"room\":\"r\",\"data\":{\r\n  \"a\": 1,\n  \"b\": \"x\\ny\"\r}}");
        var data = Text(command.Data);
        Assert.Equal("{    \"a\": 1,   \"b\": \"x\\ny\" }", data);
        Assert.DoesNotContain('\n', data);
        Assert.DoesNotContain('\r', data);
    }

    [Fact]
    public void DataWithoutRawNewlinesIsASliceOfTheFrameNotACopy()
    {
        var frame = Encoding.UTF8.GetBytes("""{"op":"publish","room":"r","data":{"a":"b"}}""");
        Assert.True(CommandParser.TryParse(frame, out var command, out _));
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(command.Data, out var segment));
        Assert.Same(frame, segment.Array);
    }

    [Fact]
    public void TrailingWhitespaceAfterTheObjectIsAllowed()
    {
        var command = Parse("{\"op\":\"leave\",\"room\":\"r\"} \t\r\n ");
        Assert.Equal(CommandOp.Leave, command.Op);
    }

    [Fact]
    public void JoinCarriesItsSincePosition()
    {
        var command = Parse("""{"op":"join","room":"r","since":{"epoch":"e1","offset":38,"future":[1]}}""");
        Assert.Equal(new StreamPosition(38, "e1"), command.Since);
        Assert.Null(command.Limit);
    }

    [Fact]
    public void SinceMayStartAtOffsetZero()
    {
        Assert.Equal(new StreamPosition(0, "e"), Parse("""{"op":"history","room":"r","since":{"offset":0,"epoch":"e"}}""").Since);
    }

    [Fact]
    public void SinceAcceptsTheLargestUnsignedOffset()
    {
        Assert.Equal(ulong.MaxValue, Parse("""{"op":"join","room":"r","since":{"offset":18446744073709551615,"epoch":"e"}}""").Since!.Value.Offset);
    }

    [Fact]
    public void HistoryCarriesItsLimit()
    {
        var command = Parse("""{"op":"history","room":"r","limit":10,"id":1}""");
        Assert.Equal(10, command.Limit);
        Assert.Null(command.Since);
    }

    [Fact]
    public void IdOfExactly128BytesIsAccepted()
    {
        var id = "\"" + new string('x', CommandParser.MaxIdBytes - 2) + "\"";
        Assert.Equal(id, Text(Parse("{\"op\":\"join\",\"room\":\"r\",\"id\":" + id + "}").Id));
    }

    [Theory]
    [InlineData("_")]
    [InlineData("-")]
    [InlineData(":")]
    [InlineData(".")]
    [InlineData("@")]
    [InlineData("/")]
    [InlineData("=")]
    [InlineData("+")]
    [InlineData("chat:lobby")]
    [InlineData("user@example.com/inbox=1+2_3-4")]
    [InlineData("AZaz09")]
    public void RoomNamesMayUseLettersDigitsAndTheAllowedPunctuation(string room)
    {
        Assert.Equal(room, Parse($$"""{"op":"join","room":"{{room}}"}""").Room);
    }

    [Fact]
    public void RoomNameOf128CharactersIsAccepted()
    {
        var room = new string('r', NameRules.MaxLength);
        Assert.Equal(room, Parse($$"""{"op":"join","room":"{{room}}"}""").Room);
    }

    [Fact]
    public void EscapedRoomNameIsUnescapedBeforeValidation()
    {
        Assert.Equal("AB", Parse("""{"op":"join","room":"\u0041\u0042"}""").Room);
    }

    // ---- CommandParser: what is rejected, and with which code ----

    [Fact]
    public void MissingOpIsAnInvalidField()
    {
        var error = Reject("""{"room":"r","id":3}""", out var command);
        Assert.Equal(ErrorCodes.InvalidField, error.Code);
        Assert.Contains("op", error.Message, StringComparison.Ordinal);
        Assert.Equal("3", Text(command.Id));
    }

    [Theory]
    [InlineData("subscribe")]
    [InlineData("JOIN")]
    [InlineData("")]
    public void UnknownOpIsRejectedWithItsId(string op)
    {
        var error = Reject($$"""{"op":"{{op}}","room":"r","id":9}""", out var command);
        Assert.Equal(ErrorCodes.UnknownOp, error.Code);
        Assert.Equal("9", Text(command.Id));
    }

    [Fact]
    public void UnknownOpMessageTruncatesALongOp()
    {
        var error = Reject("{\"op\":\"" + new string('z', 1000) + "\"}", out _);
        Assert.Equal(ErrorCodes.UnknownOp, error.Code);
        Assert.True(error.Message.Length < 100, error.Message);
    }

    [Theory]
    [InlineData("join")]
    [InlineData("leave")]
    [InlineData("publish")]
    [InlineData("presence")]
    [InlineData("history")]
    public void RoomOpsWithoutARoomAreAnInvalidField(string op)
    {
        var error = Reject($$"""{"op":"{{op}}","data":1,"id":1}""", out var command);
        Assert.Equal(ErrorCodes.InvalidField, error.Code);
        Assert.Contains("room", error.Message, StringComparison.Ordinal);
        Assert.Equal("1", Text(command.Id));
    }

    [Fact]
    public void SendWithoutAUserIsAnInvalidField()
    {
        var error = Reject("""{"op":"send","room":"r","data":1}""", out _);
        Assert.Equal(ErrorCodes.InvalidField, error.Code);
        Assert.Contains("user", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"op":"publish","room":"r"}""")]
    [InlineData("""{"op":"send","user":"bob"}""")]
    public void PublishAndSendWithoutDataAreAnInvalidField(string json)
    {
        var error = Reject(json, out _);
        Assert.Equal(ErrorCodes.InvalidField, error.Code);
        Assert.Contains("data", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"op":1,"room":"r"}""", "op")]
    [InlineData("""{"op":["join"],"room":"r"}""", "op")]
    [InlineData("""{"op":"join","room":7}""", "room")]
    [InlineData("""{"op":"join","room":null}""", "room")]
    [InlineData("""{"op":"join","room":{"name":"r"}}""", "room")]
    [InlineData("""{"op":"send","user":true,"data":1}""", "user")]
    [InlineData("""{"op":"join","room":"r","id":{"n":1}}""", "id")]
    [InlineData("""{"op":"join","room":"r","id":[1]}""", "id")]
    [InlineData("""{"op":"join","room":"r","id":true}""", "id")]
    [InlineData("""{"op":"join","room":"r","id":null}""", "id")]
    public void WrongTypedFieldsAreAnInvalidFieldNamingTheField(string json, string field)
    {
        var error = Reject(json, out _);
        Assert.Equal(ErrorCodes.InvalidField, error.Code);
        Assert.StartsWith(field, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WrongTypedFieldErrorStillCarriesAnIdReadAfterIt()
    {
        var error = Reject("""{"room":5,"op":"join","id":"late"}""", out var command);
        Assert.Equal(ErrorCodes.InvalidField, error.Code);
        Assert.Equal("\"late\"", Text(command.Id));
    }

    [Theory]
    [InlineData("")]
    [InlineData("with space")]
    [InlineData("caf\u00e9")]
    [InlineData("\u00e9")]
    [InlineData("tab\t")]
    [InlineData("semi;colon")]
    [InlineData("question?")]
    [InlineData("hash#")]
    [InlineData("percent%20")]
    [InlineData("star*")]
    [InlineData("quote'")]
    public void InvalidRoomNamesAreAnInvalidRoom(string room)
    {
        var json = "{\"op\":\"join\",\"room\":" + JsonSerializer.Serialize(room) + ",\"id\":2}";
        var error = Reject(json, out var command);
        Assert.Equal(ErrorCodes.InvalidRoom, error.Code);
        Assert.Equal("2", Text(command.Id));
    }

    [Fact]
    public void RoomNameOf129CharactersIsAnInvalidRoom()
    {
        var room = new string('r', NameRules.MaxLength + 1);
        Assert.Equal(ErrorCodes.InvalidRoom, Reject($$"""{"op":"join","room":"{{room}}"}""", out _).Code);
    }

    [Theory]
    [InlineData("")]
    [InlineData("bob smith")]
    [InlineData("b\u00f6b")]
    public void InvalidUserOfASendIsAnInvalidUser(string user)
    {
        var json = "{\"op\":\"send\",\"user\":" + JsonSerializer.Serialize(user) + ",\"data\":1}";
        Assert.Equal(ErrorCodes.InvalidUser, Reject(json, out _).Code);
    }

    [Theory]
    [InlineData("\"s\"")]
    [InlineData("5")]
    [InlineData("null")]
    [InlineData("[1,\"e\"]")]
    [InlineData("{\"offset\":1}")]
    [InlineData("{\"epoch\":\"e\"}")]
    [InlineData("{}")]
    [InlineData("{\"offset\":-1,\"epoch\":\"e\"}")]
    [InlineData("{\"offset\":1.5,\"epoch\":\"e\"}")]
    [InlineData("{\"offset\":\"1\",\"epoch\":\"e\"}")]
    [InlineData("{\"offset\":1,\"epoch\":7}")]
    [InlineData("{\"offset\":18446744073709551616,\"epoch\":\"e\"}")]
    public void MalformedSinceIsAnInvalidField(string since)
    {
        var error = Reject("{\"op\":\"join\",\"room\":\"r\",\"since\":" + since + ",\"id\":4}", out var command);
        Assert.Equal(ErrorCodes.InvalidField, error.Code);
        Assert.Contains("since", error.Message, StringComparison.Ordinal);
        Assert.Equal("4", Text(command.Id));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("1.5")]
    [InlineData("\"10\"")]
    [InlineData("null")]
    [InlineData("2147483648")]
    [InlineData("[10]")]
    public void LimitThatIsNotAPositiveIntegerIsAnInvalidField(string limit)
    {
        var error = Reject("{\"op\":\"history\",\"room\":\"r\",\"limit\":" + limit + ",\"id\":5}", out var command);
        Assert.Equal(ErrorCodes.InvalidField, error.Code);
        Assert.Contains("limit", error.Message, StringComparison.Ordinal);
        Assert.Equal("5", Text(command.Id));
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("{\"op\":\"join\",\"room\":\"r\"")]
    [InlineData("{\"op\":\"join\",\"room\":\"r\",}")]
    [InlineData("{'op':'join'}")]
    [InlineData("[{\"op\":\"join\",\"room\":\"r\"}]")]
    [InlineData("\"join\"")]
    [InlineData("42")]
    [InlineData("null")]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("{\"op\":\"publish\",\"room\":\"r\",\"data\":[1,2}")]
    public void MalformedJsonIsABadRequest(string json)
    {
        var error = Reject(json, out _);
        Assert.Equal(ErrorCodes.BadRequest, error.Code);
    }

    [Theory]
    [InlineData("{\"op\":\"join\",\"room\":\"r\"} x")]
    [InlineData("{\"op\":\"join\",\"room\":\"r\"}{}")]
    [InlineData("{\"op\":\"join\",\"room\":\"r\"}}")]
    [InlineData("{\"op\":\"join\",\"room\":\"r\"},")]
    [InlineData("{\"op\":\"join\",\"room\":\"r\"}\n{\"op\":\"leave\",\"room\":\"r\"}")]
    public void TrailingGarbageAfterTheObjectIsABadRequest(string json)
    {
        Assert.Equal(ErrorCodes.BadRequest, Reject(json, out _).Code);
    }

    [Fact]
    public void MalformedJsonErrorMessageHasNoReaderPositionNoise()
    {
        var error = Reject("{\"op\":\"join\",", out _);
        Assert.StartsWith("malformed JSON", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("LineNumber", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MalformedJsonErrorKeepsAnIdReadBeforeTheFault()
    {
        var error = Reject("{\"id\":77,\"op\":\"join\",\"room\":", out var command);
        Assert.Equal(ErrorCodes.BadRequest, error.Code);
        Assert.Equal("77", Text(command.Id));
    }

    [Fact]
    public void NestingOf64LevelsIsAccepted()
    {
        // The command object is level 1; 63 nested arrays in data make 64.
        var command = Parse(Nested(63));
        Assert.Equal(CommandOp.Publish, command.Op);
    }

    [Fact]
    public void NestingBeyond64LevelsIsABadRequest()
    {
        Assert.Equal(ErrorCodes.BadRequest, Reject(Nested(64), out _).Code);
        Assert.Equal(ErrorCodes.BadRequest, Reject(Nested(5000), out _).Code);
    }

    [Fact]
    public void NestingBeyond64LevelsInAnUnknownFieldIsABadRequest()
    {
        var json = "{\"op\":\"join\",\"room\":\"r\",\"x\":" + new string('[', 80) + new string(']', 80) + "}";
        Assert.Equal(ErrorCodes.BadRequest, Reject(json, out _).Code);
    }

    [Fact]
    public void IdOver128BytesIsAnInvalidFieldAndIsNotEchoed()
    {
        var id = "\"" + new string('x', CommandParser.MaxIdBytes - 1) + "\"";
        var error = Reject("{\"op\":\"join\",\"room\":\"r\",\"id\":" + id + "}", out var command);
        Assert.Equal(ErrorCodes.InvalidField, error.Code);
        Assert.Contains("id", error.Message, StringComparison.Ordinal);
        Assert.True(command.Id.IsEmpty);
    }

    [Fact]
    public void NumericIdOver128BytesIsAnInvalidField()
    {
        var id = new string('9', CommandParser.MaxIdBytes + 1);
        Assert.Equal(ErrorCodes.InvalidField, Reject("{\"op\":\"join\",\"room\":\"r\",\"id\":" + id + "}", out _).Code);
    }

    // ---- JsonText.SplitValues: a client frame into its commands ----

    [Fact]
    public void SplitValuesReturnsASingleCommandWhole()
    {
        Assert.Equal(["""{"op":"join","room":"r"}"""], Split("""{"op":"join","room":"r"}"""));
    }

    [Fact]
    public void SplitValuesSeparatesCommandsOnLinesOrWhitespaceInOrder()
    {
        Assert.Equal(
            ["{\"n\":1}", "{\"n\":2}", "{\"n\":3}", "{\"n\":4}"],
            Split("{\"n\":1}\n{\"n\":2}\r\n\r\n  {\"n\":3} \t{\"n\":4}\n"));
    }

    [Fact]
    public void SplitValuesKeepsAPrettyPrintedCommandInOnePiece()
    {
        const string pretty = "{\n  \"op\": \"publish\",\n  \"room\": \"r\",\n  \"data\": {\n    \"text\": \"a\\nb\"\n  }\n}";
        Assert.Equal([pretty], Split(pretty + "\n"));
        var command = Parse(pretty);
        Assert.Equal("{     \"text\": \"a\\nb\"   }", Text(command.Data));
    }

    [Fact]
    public void SplitValuesCutsMalformedTextAtTheNextNewlineSoLaterCommandsStillRun()
    {
        Assert.Equal(
            ["{garbage", """{"op":"join","room":"r"}""", "not json either", """{"op":"leave","room":"r"}"""],
            Split("{garbage\n{\"op\":\"join\",\"room\":\"r\"}\nnot json either\n{\"op\":\"leave\",\"room\":\"r\"}"));
    }

    [Fact]
    public void SplitValuesHandsOutTrailingGarbageAfterACommandSeparately()
    {
        Assert.Equal(["""{"op":"join","room":"r"}""", "trailing"], Split("""{"op":"join","room":"r"} trailing"""));
    }

    [Fact]
    public void SplitValuesHandsOutAnUnterminatedCommandUpToTheNextLine()
    {
        Assert.Equal(["{\"op\":\"join\",\"room\":\"r\"", """{"op":"leave","room":"r"}"""], Split("{\"op\":\"join\",\"room\":\"r\"\n{\"op\":\"leave\",\"room\":\"r\"}"));
        Assert.Equal(["""{"op":"join","room":"""], Split("""{"op":"join","room":"""));
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("\r\n\r\n")]
    [InlineData(" \t \n ")]
    public void SplitValuesOfABlankFrameIsEmpty(string frame)
    {
        Assert.Empty(Split(frame));
    }

    [Fact]
    public void SplitValuesCutsOverlyDeepNestingAtTheNextNewlineAndTheParserRejectsIt()
    {
        var deep = Nested(100);
        var pieces = Split(deep + "\n{\"op\":\"leave\",\"room\":\"r\"}");
        Assert.Equal([deep, """{"op":"leave","room":"r"}"""], pieces);
        Assert.Equal(ErrorCodes.BadRequest, Reject(pieces[0], out _).Code);
    }

    // ---- ServerMessages ----

    [Fact]
    public void WelcomeHasSessionUserAndPing()
    {
        using var json = Shape(ServerMessages.Welcome("s1", "alice", 25), "op", "session", "user", "ping");
        var root = json.RootElement;
        Assert.Equal("welcome", root.GetProperty("op").GetString());
        Assert.Equal("s1", root.GetProperty("session").GetString());
        Assert.Equal("alice", root.GetProperty("user").GetString());
        Assert.Equal(25, root.GetProperty("ping").GetInt32());
    }

    [Fact]
    public void MessageCarriesRoomFromOffsetAndRawData()
    {
        var bytes = ServerMessages.Message("lobby", "alice", 42, """{"text":"hi"}"""u8, binary: false);
        Assert.Equal("""{"op":"message","room":"lobby","from":"alice","offset":42,"data":{"text":"hi"}}""", Encoding.UTF8.GetString(bytes));
        using var json = Shape(bytes, "op", "room", "from", "offset", "data");
    }

    [Fact]
    public void MessageFromTheHttpApiHasANullFrom()
    {
        using var json = Shape(ServerMessages.Message("r", null, 1, "1"u8, binary: false), "op", "room", "from", "offset", "data");
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("from").ValueKind);
    }

    [Fact]
    public void BinaryMessageCarriesItsPayloadAsBase64()
    {
        byte[] payload = [0xDE, 0xAD, 0x00, 0xFF, (byte)'\n'];
        using var json = Shape(ServerMessages.Message("r", "bob", 3, payload, binary: true), "op", "room", "from", "offset", "binary");
        Assert.Equal(payload, json.RootElement.GetProperty("binary").GetBytesFromBase64());
    }

    [Fact]
    public void DirectCarriesFromAndData()
    {
        using var json = Shape(ServerMessages.Direct("bob", "[1,2]"u8), "op", "from", "data");
        Assert.Equal("direct", json.RootElement.GetProperty("op").GetString());
        Assert.Equal("bob", json.RootElement.GetProperty("from").GetString());
        Assert.Equal(2, json.RootElement.GetProperty("data").GetArrayLength());
    }

    [Fact]
    public void DirectFromTheHttpApiHasANullFrom()
    {
        using var json = Shape(ServerMessages.Direct(null, "true"u8), "op", "from", "data");
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("from").ValueKind);
    }

    [Theory]
    [InlineData(true, "joined")]
    [InlineData(false, "left")]
    public void PresenceChangeNamesRoomAndUser(bool joined, string op)
    {
        var bytes = ServerMessages.PresenceChange(joined, "lobby", "carol");
        Assert.Equal($$"""{"op":"{{op}}","room":"lobby","user":"carol"}""", Encoding.UTF8.GetString(bytes));
    }

    [Fact]
    public void ErrorCarriesItsRawIdCodeAndMessage()
    {
        var bytes = ServerMessages.Error("\"abc\""u8, ErrorCodes.NotJoined, "join lobby first");
        Assert.Equal("""{"op":"error","id":"abc","code":"not_joined","message":"join lobby first"}""", Encoding.UTF8.GetString(bytes));
    }

    [Fact]
    public void ErrorWithoutAnIdHasNoIdField()
    {
        using var json = Shape(ServerMessages.Error(default, ErrorCodes.BadRequest, "malformed"), "op", "code", "message");
    }

    [Fact]
    public void AckIsAReplyWithOnlyItsId()
    {
        Assert.Equal("""{"op":"reply","id":7}""", Encoding.UTF8.GetString(ServerMessages.Ack("7"u8)));
    }

    [Fact]
    public void PublishReplyCarriesOffsetAndEpoch()
    {
        var bytes = ServerMessages.PublishReply("4"u8, new StreamPosition(42, "8f1d"));
        Assert.Equal("""{"op":"reply","id":4,"offset":42,"epoch":"8f1d"}""", Encoding.UTF8.GetString(bytes));
    }

    [Fact]
    public void StreamReplyWithoutRecoveryHasOnlyThePosition()
    {
        var bytes = ServerMessages.StreamReply("1"u8, new StreamPosition(41, "e"), recovered: null, publications: null);
        Assert.Equal("""{"op":"reply","id":1,"offset":41,"epoch":"e"}""", Encoding.UTF8.GetString(bytes));
    }

    [Fact]
    public void StreamReplyEmbedsEachPublicationAsAMessageObject()
    {
        byte[][] publications =
        [
            ServerMessages.Message("lobby", "bob", 39, "\"a\""u8, binary: false),
            ServerMessages.Message("lobby", null, 40, [1, 2], binary: true),
        ];
        using var json = Shape(ServerMessages.StreamReply("2"u8, new StreamPosition(40, "e"), recovered: true, publications), "op", "id", "offset", "epoch", "recovered", "publications");
        var root = json.RootElement;
        Assert.True(root.GetProperty("recovered").GetBoolean());
        var items = root.GetProperty("publications").EnumerateArray().ToArray();
        Assert.Equal([39UL, 40UL], items.Select(p => p.GetProperty("offset").GetUInt64()));
        Assert.Equal("a", items[0].GetProperty("data").GetString());
        Assert.Equal(new byte[] { 1, 2 }, items[1].GetProperty("binary").GetBytesFromBase64());
    }

    [Fact]
    public void StreamReplyWithoutIdSuitsTheHttpApi()
    {
        using var json = Shape(ServerMessages.StreamReply(default, new StreamPosition(0, "e"), recovered: false, []), "op", "offset", "epoch", "recovered", "publications");
        Assert.False(json.RootElement.GetProperty("recovered").GetBoolean());
        Assert.Equal(0, json.RootElement.GetProperty("publications").GetArrayLength());
    }

    [Fact]
    public void PresenceReplyListsUsersWithConnectionCounts()
    {
        var bytes = ServerMessages.PresenceReply("6"u8, "lobby", [new("alice", 2), new("bob", 1)]);
        Assert.Equal("""{"op":"reply","id":6,"room":"lobby","users":{"alice":2,"bob":1}}""", Encoding.UTF8.GetString(bytes));
    }

    [Fact]
    public void NoServerMessageContainsARawNewline()
    {
        const string tricky = "line1\nline2\r\n\u2028end";
        var escapedData = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(tricky));
        byte[][] all =
        [
            ServerMessages.Welcome(tricky, tricky, 1),
            ServerMessages.Message("r", tricky, 1, escapedData, binary: false),
            ServerMessages.Message("r", tricky, 1, "\n\r\n"u8, binary: true),
            ServerMessages.Direct(tricky, escapedData),
            ServerMessages.PresenceChange(true, tricky, tricky),
            ServerMessages.Error("\"x\\ny\""u8, ErrorCodes.Internal, tricky),
            ServerMessages.StreamReply("1"u8, new StreamPosition(1, tricky), true, [ServerMessages.Message("r", tricky, 1, escapedData, binary: false)]),
            ServerMessages.PresenceReply("1"u8, tricky, [new(tricky, 1)]),
        ];
        foreach (var bytes in all)
        {
            Assert.DoesNotContain((byte)'\n', bytes);
            Assert.DoesNotContain((byte)'\r', bytes);
            using var json = JsonDocument.Parse(bytes);
        }

        using var message = JsonDocument.Parse(all[1]);
        Assert.Equal(tricky, message.RootElement.GetProperty("data").GetString());
        Assert.Equal(tricky, message.RootElement.GetProperty("from").GetString());
    }

    [Fact]
    public void NonAsciiTextIsWrittenUnescaped()
    {
        var text = Encoding.UTF8.GetString(ServerMessages.Error(default, ErrorCodes.Internal, "caf\u00e9 \u263a"));
        Assert.Contains("caf\u00e9 \u263a", text, StringComparison.Ordinal);
    }

    [Fact]
    public void AHugeMessageDoesNotCorruptTheSmallOnesAfterIt()
    {
        var big = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new string('b', 200_000)));
        var bigMessage = ServerMessages.Message("r", "u", 1, big, binary: false);
        var small = ServerMessages.Ack("1"u8);
        var bigAgain = ServerMessages.Message("r", "u", 2, big, binary: false);

        using var first = JsonDocument.Parse(bigMessage);
        Assert.Equal(200_000, first.RootElement.GetProperty("data").GetString()!.Length);
        Assert.Equal("""{"op":"reply","id":1}""", Encoding.UTF8.GetString(small));
        using var second = JsonDocument.Parse(bigAgain);
        Assert.Equal(2UL, second.RootElement.GetProperty("offset").GetUInt64());
    }

    [Fact]
    public async Task EncodersOnManyThreadsAtOnceProduceIndependentMessages()
    {
        var tasks = Enumerable.Range(0, 8).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 2000; i++)
            {
                var bytes = ServerMessages.Message("room" + t, "user" + t, (ulong)i, Encoding.UTF8.GetBytes(i.ToString(System.Globalization.CultureInfo.InvariantCulture)), binary: false);
                using var json = JsonDocument.Parse(bytes);
                if (json.RootElement.GetProperty("room").GetString() != "room" + t || json.RootElement.GetProperty("data").GetInt32() != i)
                {
                    return false;
                }
            }

            return true;
        }));
        var results = await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.DoesNotContain(false, results);
    }

    // ---- BinaryFrames ----

    [Fact]
    public void PublishFrameMatchesTheDocumentedExample()
    {
        Assert.Equal(new byte[] { 0x01, 0x02, 0x72, 0x31, 0xDE, 0xAD }, BinaryFrames.EncodePublish("r1", [0xDE, 0xAD]));
    }

    [Theory]
    [InlineData("r", 0)]
    [InlineData("chat:lobby", 3)]
    [InlineData("user@x.org/a=b+c_d-e", 1000)]
    public void PublishFrameRoundTrips(string room, int payloadLength)
    {
        var payload = Enumerable.Range(0, payloadLength).Select(i => (byte)i).ToArray();
        var frame = BinaryFrames.EncodePublish(room, payload);
        Assert.True(BinaryFrames.TryDecodePublish(frame, out var decodedRoom, out var decodedPayload));
        Assert.Equal(room, decodedRoom);
        Assert.Equal(payload, decodedPayload.ToArray());
    }

    [Fact]
    public void PublishFrameWithA128CharacterRoomRoundTrips()
    {
        var room = new string('q', NameRules.MaxLength);
        Assert.True(BinaryFrames.TryDecodePublish(BinaryFrames.EncodePublish(room, [9]), out var decoded, out _));
        Assert.Equal(room, decoded);
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { 0x01 })]
    [InlineData(new byte[] { 0x02, 0x01, (byte)'r', 0xFF })]
    [InlineData(new byte[] { 0x00, 0x01, (byte)'r', 0xFF })]
    [InlineData(new byte[] { (byte)'{', (byte)'}' })]
    [InlineData(new byte[] { 0x01, 0x05, (byte)'r', (byte)'o' })]
    [InlineData(new byte[] { 0x01, 0x00, 0xFF })]
    [InlineData(new byte[] { 0x01, 0x03, (byte)'a', (byte)' ', (byte)'b', 0xFF })]
    [InlineData(new byte[] { 0x01, 0x02, 0xC3, 0xA9, 0xFF })]
    [InlineData(new byte[] { 0x01, 0x01, (byte)'#' })]
    public void PublishFrameWithAnInvalidHeaderIsRejected(byte[] frame)
    {
        Assert.False(BinaryFrames.TryDecodePublish(frame, out _, out _));
    }

    [Fact]
    public void PublishFrameWithA129ByteRoomIsRejected()
    {
        var frame = new byte[2 + 129];
        frame[0] = BinaryFrames.PublishKind;
        frame[1] = 129;
        frame.AsSpan(2).Fill((byte)'r');
        Assert.False(BinaryFrames.TryDecodePublish(frame, out _, out _));
    }

    [Theory]
    [InlineData("lobby", "alice", 1UL, 5)]
    [InlineData("r", null, 0UL, 0)]
    [InlineData("r", "\u00e9l\u00e8ve", ulong.MaxValue, 70_000)]
    public void MessageFrameRoundTrips(string room, string? from, ulong offset, int payloadLength)
    {
        var payload = Enumerable.Range(0, payloadLength).Select(i => (byte)(i * 7)).ToArray();
        var frame = BinaryFrames.EncodeMessage(room, from, offset, payload);
        Assert.Equal(BinaryFrames.MessageKind, frame[0]);
        Assert.True(BinaryFrames.TryDecodeMessage(frame, out var decodedRoom, out var decodedFrom, out var decodedOffset, out var decodedPayload));
        Assert.Equal(room, decodedRoom);
        Assert.Equal(from, decodedFrom);
        Assert.Equal(offset, decodedOffset);
        Assert.Equal(payload, decodedPayload.ToArray());
    }

    [Fact]
    public void MessageFrameWritesTheOffsetBigEndian()
    {
        var frame = BinaryFrames.EncodeMessage("r", "u", 0x0102030405060708, [0xAA]);
        Assert.Equal(new byte[] { 0x02, 0x01, (byte)'r', 1, 2, 3, 4, 5, 6, 7, 8, 0x01, (byte)'u', 0xAA }, frame);
    }

    [Fact]
    public void MessageFrameRefusesAFromLongerThan255Bytes()
    {
        Assert.Throws<ArgumentException>(() => BinaryFrames.EncodeMessage("r", new string('u', 256), 1, []));
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { 0x02 })]
    [InlineData(new byte[] { 0x01, 0x01, (byte)'r', 0, 0, 0, 0, 0, 0, 0, 1, 0 })]
    [InlineData(new byte[] { 0x02, 0x01, (byte)'r', 0, 0, 0, 0, 0, 0, 0, 1 })]
    [InlineData(new byte[] { 0x02, 0x05, (byte)'r', 0, 0, 0, 0, 0, 0, 0, 1, 0 })]
    [InlineData(new byte[] { 0x02, 0x01, (byte)'r', 0, 0, 0, 0, 0, 0, 0, 1, 3, (byte)'a' })]
    public void MessageFrameWithAnInvalidHeaderIsRejected(byte[] frame)
    {
        Assert.False(BinaryFrames.TryDecodeMessage(frame, out _, out _, out _, out _));
    }

    // ---- CloseCodes ----

    [Theory]
    [InlineData(CloseCodes.Normal, false)]
    [InlineData(CloseCodes.GoingAway, true)]
    [InlineData(1006, true)]
    [InlineData(CloseCodes.InvalidPayload, false)]
    [InlineData(1008, false)]
    [InlineData(CloseCodes.MessageTooBig, false)]
    [InlineData(CloseCodes.InternalError, true)]
    [InlineData(3000, false)]
    [InlineData(3999, false)]
    [InlineData(CloseCodes.SlowConsumer, true)]
    [InlineData(CloseCodes.HeartbeatTimeout, true)]
    [InlineData(CloseCodes.InsufficientState, true)]
    [InlineData(CloseCodes.TokenExpired, true)]
    [InlineData(4499, true)]
    [InlineData(CloseCodes.ProtocolViolation, false)]
    [InlineData(CloseCodes.Unauthorized, false)]
    [InlineData(CloseCodes.Forbidden, false)]
    [InlineData(CloseCodes.RateLimited, false)]
    [InlineData(CloseCodes.TooManyConnections, false)]
    [InlineData(4999, false)]
    [InlineData(5000, false)]
    [InlineData(0, false)]
    public void ShouldReconnectFollowsTheCloseCodeTable(int code, bool reconnect)
    {
        Assert.Equal(reconnect, CloseCodes.ShouldReconnect(code));
    }

    [Fact]
    public void CloseCodesHaveTheirDocumentedValues()
    {
        Assert.Equal(
            [1000, 1001, 1007, 1009, 1011, 4000, 4001, 4002, 4003, 4500, 4501, 4502, 4503, 4504],
            new[]
            {
                CloseCodes.Normal, CloseCodes.GoingAway, CloseCodes.InvalidPayload, CloseCodes.MessageTooBig, CloseCodes.InternalError,
                CloseCodes.SlowConsumer, CloseCodes.HeartbeatTimeout, CloseCodes.InsufficientState, CloseCodes.TokenExpired,
                CloseCodes.ProtocolViolation, CloseCodes.Unauthorized, CloseCodes.Forbidden, CloseCodes.RateLimited, CloseCodes.TooManyConnections,
            });
    }

    // ---- helpers ----

    private static ClientCommand Parse(string json)
    {
        var ok = CommandParser.TryParse(Encoding.UTF8.GetBytes(json), out var command, out var error);
        Assert.True(ok, $"expected {Shorten(json)} to parse, got {error.Code}: {error.Message}");
        return command;
    }

    private static ProtocolError Reject(string json, out ClientCommand command)
    {
        var ok = CommandParser.TryParse(Encoding.UTF8.GetBytes(json), out command, out var error);
        Assert.False(ok, $"expected {Shorten(json)} to be rejected");
        Assert.NotNull(error.Code);
        Assert.False(string.IsNullOrEmpty(error.Message));
        return error;
    }

    private static string Shorten(string json) => json.Length <= 200 ? json : json[..200] + "...";

    private static string Text(ReadOnlyMemory<byte> utf8) => Encoding.UTF8.GetString(utf8.Span);

    private static List<string> Split(string frame) => JsonText.SplitValues(Encoding.UTF8.GetBytes(frame)).Select(Text).ToList();

    private static string Nested(int depth) =>
        "{\"op\":\"publish\",\"room\":\"r\",\"data\":" + new string('[', depth) + new string(']', depth) + "}";

    /// <summary>Parses <paramref name="bytes"/> and checks it is one object with exactly <paramref name="properties"/>, in that order.</summary>
    private static JsonDocument Shape(byte[] bytes, params string[] properties)
    {
        Assert.DoesNotContain((byte)'\n', bytes);
        var json = JsonDocument.Parse(bytes);
        Assert.Equal(JsonValueKind.Object, json.RootElement.ValueKind);
        Assert.Equal(properties, json.RootElement.EnumerateObject().Select(p => p.Name));
        return json;
    }
}
