// RFC 5322 §3.4 address lists: display names, quoting, comments, groups, obsolete routes, invalid input.
using CprDesk.Mail.Mime;

namespace CprDesk.Mail.Tests.Mime;

public sealed class AddressTests
{
    private static List<(string? Name, string Address)> Parse(string value, List<MimeDefect>? defects = null)
        => AddressParser.ParseList(value, defects).Select(a => (a.DisplayName, a.Address)).ToList();

    [Fact]
    public void Plain_and_named_mailboxes()
    {
        Assert.Equal([(null, "a@example.org"), ("Bob", "bob@example.org"), (null, "c@example.org")],
            Parse("a@example.org, Bob <bob@example.org>, <c@example.org>"));
    }

    [Fact]
    public void Quoted_display_names_with_commas_and_escapes()
    {
        Assert.Equal([("Doe, John", "j@x.org"), ("Say \"hi\"", "s@x.org")], Parse("\"Doe, John\" <j@x.org>, \"Say \\\"hi\\\"\" <s@x.org>"));
    }

    [Fact]
    public void Comments_are_dropped_everywhere()
    {
        Assert.Equal([(null, "reporter@example.org")], Parse("(lead) reporter(at work)@example.org (Reporter)"));
        Assert.Equal([("John Q. Public", "jqp@x.org")], Parse("John (middle) Q. Public <jqp(c)@x.org>"));
    }

    [Fact]
    public void Groups_contribute_their_members()
    {
        Assert.Empty(Parse("undisclosed-recipients:;"));
        Assert.Equal([(null, "a@x"), ("B", "b@y"), (null, "c@z")], Parse("Team: a@x, B <b@y>;, c@z"));
    }

    [Fact]
    public void Obsolete_route_is_removed()
    {
        Assert.Equal([("Old", "user@example.org")], Parse("Old <@relay1.example,@relay2.example:user@example.org>"));
    }

    [Fact]
    public void Encoded_words_in_display_names_are_decoded()
    {
        Assert.Equal([("Jörg Müller", "j@x.de")], Parse("=?utf-8?q?J=C3=B6rg?= =?utf-8?q?_M=C3=BCller?= <j@x.de>"));
        Assert.Equal([("Jörg", "j@x.de")], Parse("\"=?utf-8?q?J=C3=B6rg?=\" <j@x.de>"));
    }

    [Fact]
    public void Utf8_display_name_and_address_are_kept()
    {
        Assert.Equal([("Jörg", "jörg@bücher.example")], Parse("Jörg <jörg@bücher.example>"));
    }

    [Fact]
    public void Quoted_local_part_is_kept_as_written()
    {
        Assert.Equal([(null, "\"john doe\"@example.org")], Parse("\"john doe\"@example.org"));
    }

    [Fact]
    public void Semicolon_outside_a_group_separates_like_a_comma()
    {
        Assert.Equal([(null, "a@x"), (null, "b@y")], Parse("a@x; b@y"));
    }

    [Fact]
    public void Invalid_addresses_are_kept_with_a_defect()
    {
        var defects = new List<MimeDefect>();
        Assert.Equal([(null, "not an address")], Parse("not an address", defects));
        Assert.Contains(defects, d => d.Code == DefectCodes.InvalidAddress);
    }

    [Theory]
    [InlineData("\"unterminated <a@b>")]
    [InlineData("Name <a@b")]
    [InlineData("(unterminated comment a@b")]
    [InlineData("<>")]
    [InlineData("a@b <c@d> trailing")]
    [InlineData("[unterminated")]
    public void Broken_syntax_gives_defects_not_exceptions(string value)
    {
        var defects = new List<MimeDefect>();
        AddressParser.ParseList(value, defects);
        Assert.NotEmpty(defects);
    }

    [Fact]
    public void Empty_input_and_empty_elements_give_nothing()
    {
        Assert.Empty(Parse(""));
        Assert.Empty(Parse(" , ,"));
        Assert.Equal([(null, "a@b")], Parse(", a@b ,"));
    }

    [Fact]
    public void Message_exposes_all_address_headers()
    {
        using var m = TestMessages.Parse("From: A <a@x>\nSender: s@x\nTo: b@x, c@x\nCc: d@x\nReply-To: Reply <r@x>\n\nbody");
        Assert.Equal("a@x", m.From.Single().Address);
        Assert.Equal("s@x", m.Sender!.Address);
        Assert.Equal(["b@x", "c@x"], m.To.Select(a => a.Address));
        Assert.Equal("d@x", m.Cc.Single().Address);
        Assert.Equal(new MailboxAddress("Reply", "r@x"), m.ReplyTo.Single());
    }
}
