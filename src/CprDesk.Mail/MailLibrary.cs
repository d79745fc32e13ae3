namespace CprDesk.Mail;

/// <summary>Marker for the library's assembly.</summary>
public static class MailLibrary
{
    public const string Name = "CprDesk.Mail";
}
