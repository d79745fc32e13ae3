// HTML body to text: tags, scripts and styles, entities, block elements, preformatted text.
using CprDesk.Mail.Mime;

namespace CprDesk.Mail.Tests.Mime;

public sealed class HtmlTextTests
{
    [Theory]
    [InlineData("<p>a</p><p>b</p>", "a\n\nb")]
    [InlineData("a<br>b<br/>c", "a\nb\nc")]
    [InlineData("a<br><br>b", "a\n\nb")]
    [InlineData("<div>a</div><div>b</div>", "a\nb")]
    [InlineData("<script>alert('<p>x</p>')</script>visible", "visible")]
    [InlineData("<STYLE type=\"text/css\">p{}</STYLE>visible", "visible")]
    [InlineData("&lt;tag&gt; &amp; &quot;q&quot; &#8211; &#x20AC; &eacute;", "<tag> & \"q\" – € é")]
    [InlineData("a&nbsp;b", "a b")]
    [InlineData("<ul><li>one</li><li>two</li></ul>", "one\ntwo")]
    [InlineData("<!-- hidden <p>comment</p> -->shown", "shown")]
    [InlineData("<a href=\"x>y\">link</a> text", "link text")]
    [InlineData("a   \n\n  b", "a b")]
    [InlineData("<pre>  keep\n  this</pre>", "  keep\n  this")]
    [InlineData("1 < 2 and 3 > 2", "1 < 2 and 3 > 2")]
    [InlineData("<table><tr><td>a</td><td>b</td></tr></table>", "a b")]
    [InlineData("<!DOCTYPE html><html><head><title>T</title></head><body>B</body></html>", "T\n\nB")]
    [InlineData("unterminated <b", "unterminated")]
    [InlineData("<script>never closed", "")]
    public void Converts(string html, string text)
    {
        Assert.Equal(text, HtmlText.ToText(html));
    }
}
