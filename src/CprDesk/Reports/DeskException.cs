namespace CprDesk.Reports;

public enum DeskErrorKind { Invalid, NotFound, Conflict, TooLarge }

/// <summary>A request the desk refuses, with what the caller can fix. Maps to 400/404/409/413.</summary>
public sealed class DeskException(DeskErrorKind kind, string message, string? field = null) : Exception(message)
{
    public DeskErrorKind Kind { get; } = kind;
    public string? Field { get; } = field;

    public static DeskException Invalid(string field, string message) => new(DeskErrorKind.Invalid, message, field);
    public static DeskException NotFound(string message) => new(DeskErrorKind.NotFound, message);
    public static DeskException Conflict(string message) => new(DeskErrorKind.Conflict, message);
}
