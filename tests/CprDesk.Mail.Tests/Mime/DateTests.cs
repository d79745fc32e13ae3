// RFC 5322 §3.3 dates and the obsolete forms of §4.3.
using CprDesk.Mail.Mime;

namespace CprDesk.Mail.Tests.Mime;

public sealed class DateTests
{
    [Theory]
    [InlineData("Mon, 06 May 2024 10:15:00 +0000", "2024-05-06T10:15:00+00:00")]
    [InlineData("Mon, 06 May 2024 12:15:00 +0200 (CEST)", "2024-05-06T12:15:00+02:00")]
    [InlineData("6 May 2024 10:15 UT", "2024-05-06T10:15:00+00:00")]
    [InlineData("Tue, 1 Jul 03 10:52:37 EST", "2003-07-01T10:52:37-05:00")] // 00-49 → 20xx
    [InlineData("Sun, 1 Jan 55 00:00:00 GMT", "1955-01-01T00:00:00+00:00")] // 50-99 → 19xx
    [InlineData("1 Jan 103 10:00:00 +0000", "2003-01-01T10:00:00+00:00")] // three digits → +1900
    [InlineData("Fri, 21 Nov 1997 09:55:06 PDT", "1997-11-21T09:55:06-07:00")]
    [InlineData("Fri, 21 Nov 1997 09:55:06 EDT", "1997-11-21T09:55:06-04:00")]
    [InlineData("Fri, 21 Nov 1997 09:55:06 CST", "1997-11-21T09:55:06-06:00")]
    [InlineData("Fri, 21 Nov 1997 09:55:06 MDT", "1997-11-21T09:55:06-06:00")]
    [InlineData("1 Jan 2003 10:00:00 A", "2003-01-01T10:00:00+00:00")] // military zones are -0000 (§4.3)
    [InlineData("1 Jan 2003 10:00:00 Z", "2003-01-01T10:00:00+00:00")]
    [InlineData("Mon, 06 May 2024 10:15:00 -0000", "2024-05-06T10:15:00+00:00")]
    [InlineData("Mon,06 May 2024 10:15:00 -0330", "2024-05-06T10:15:00-03:30")]
    [InlineData("  Mon ,  6  May  2024  10:15:00  +0100  ", "2024-05-06T10:15:00+01:00")]
    [InlineData("Mon, 06 May 2024 10:15:00+0100", "2024-05-06T10:15:00+01:00")]
    [InlineData("Wed, 31 Dec 2008 23:59:60 +0000", "2008-12-31T23:59:59+00:00")] // leap second
    [InlineData("Thursday, 29 February 2024 08:00:00 +0900", "2024-02-29T08:00:00+09:00")]
    public void Parses(string input, string expected)
    {
        var defects = new List<MimeDefect>();
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), DateParser.Parse(input, defects));
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture).Offset, DateParser.Parse(input)!.Value.Offset);
        Assert.Empty(defects);
    }

    [Theory]
    [InlineData("")]
    [InlineData("the day after tomorrow")]
    [InlineData("30 Feb 2024 10:00:00 +0000")]
    [InlineData("1 Jan 2024 25:00:00 +0000")]
    [InlineData("1 Foo 2024 10:00:00 +0000")]
    [InlineData("1 Jan 2024")]
    [InlineData("99999 Jan 2024 10:00:00 +0000")]
    public void Unreadable_dates_are_null_with_a_defect(string input)
    {
        var defects = new List<MimeDefect>();
        Assert.Null(DateParser.Parse(input, defects));
        Assert.Contains(defects, d => d.Code == DefectCodes.InvalidDate);
    }

    [Theory]
    [InlineData("1 Jan 2024 10:00:00")]
    [InlineData("1 Jan 2024 10:00:00 XYZ")]
    [InlineData("1 Jan 2024 10:00:00 +9900")]
    public void Missing_or_unknown_zones_are_taken_as_ut_with_a_defect(string input)
    {
        var defects = new List<MimeDefect>();
        Assert.Equal(new DateTimeOffset(2024, 1, 1, 10, 0, 0, TimeSpan.Zero), DateParser.Parse(input, defects));
        Assert.Contains(defects, d => d.Code == DefectCodes.InvalidDate);
    }

    [Fact]
    public void Message_date_is_parsed_and_bad_dates_are_defects()
    {
        using var good = TestMessages.Parse("Date: Mon, 06 May 2024 10:15:00 +0000\n\nx");
        Assert.Equal(new DateTimeOffset(2024, 5, 6, 10, 15, 0, TimeSpan.Zero), good.Date);
        using var bad = TestMessages.Parse("Date: soon\n\nx");
        Assert.Null(bad.Date);
        Assert.True(bad.Has(DefectCodes.InvalidDate));
    }
}
