namespace CprDesk.Mail.Tests;

public sealed class ProjectTests
{
    [Fact]
    public void The_mail_library_does_not_depend_on_the_application()
    {
        var refs = typeof(ProjectTests).Assembly.GetReferencedAssemblies().Select(a => a.Name).ToList();
        Assert.Contains("CprDesk.Mail", refs.Concat([typeof(CprDesk.Mail.MailLibrary).Assembly.GetName().Name]));
        Assert.DoesNotContain(typeof(CprDesk.Mail.MailLibrary).Assembly.GetReferencedAssemblies(), a => a.Name == "cprdesk");
    }
}
