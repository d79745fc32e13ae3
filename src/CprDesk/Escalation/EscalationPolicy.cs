// Escalation policy as data (rules/escalation.json): ownership steps run from receipt until someone takes the
// report; deadline steps run against each open clock until the action that meets it.
using System.Text.Json;

namespace CprDesk.Escalation;

public sealed record OwnershipStep(TimeSpan After, IReadOnlyList<string> Notify);

/// <summary>Fires <see cref="Before"/> the clock's due time (or at the miss), optionally repeating until then.</summary>
public sealed record DeadlineStep(TimeSpan Before, bool AtMiss, IReadOnlyList<string> Notify, TimeSpan? RepeatEvery);

public sealed class EscalationPolicy
{
    /// <summary>Who a step may name: the on-call primary and secondary of every schedule, the schedules' team
    /// channels (webhooks), all admins, all staff.</summary>
    public static readonly string[] Audiences = ["primary", "secondary", "team", "admins", "everyone"];

    public required IReadOnlyList<OwnershipStep> Ownership { get; init; }
    public required IReadOnlyList<DeadlineStep> Deadline { get; init; }

    public static EscalationPolicy Load(string path)
    {
        if (!System.IO.File.Exists(path)) throw new InvalidOperationException($"Escalation policy file not found: {path}");
        using var stream = System.IO.File.OpenRead(path);
        PolicyFile? file;
        try { file = JsonSerializer.Deserialize<PolicyFile>(stream, new JsonSerializerOptions(JsonSerializerDefaults.Web) { AllowTrailingCommas = true }); }
        catch (JsonException ex) { throw new InvalidOperationException($"Escalation policy {path} is not valid JSON: {ex.Message}", ex); }
        if (file?.Ownership is null || file.Deadline is null) throw new InvalidOperationException($"Escalation policy {path} needs 'ownership' and 'deadline' steps.");
        foreach (var n in file.Ownership.SelectMany(s => s.Notify ?? []).Concat(file.Deadline.SelectMany(s => s.Notify ?? [])))
            if (!Audiences.Contains(n)) throw new InvalidOperationException($"Escalation policy {path}: unknown audience '{n}' (use {string.Join(", ", Audiences)}).");
        var ownership = file.Ownership.Select(s => new OwnershipStep(s.After ?? TimeSpan.Zero, s.Notify ?? [])).OrderBy(s => s.After).ToList();
        var deadline = file.Deadline.Select(s => new DeadlineStep(s.Before ?? TimeSpan.Zero, s.AtMiss, s.Notify ?? [], s.RepeatEvery))
            .OrderBy(s => s.AtMiss).ThenByDescending(s => s.Before).ToList();
        if (deadline.Any(s => s.RepeatEvery is { } r && r < TimeSpan.FromMinutes(1)))
            throw new InvalidOperationException($"Escalation policy {path}: repeatEvery must be at least one minute.");
        return new EscalationPolicy { Ownership = ownership, Deadline = deadline };
    }

    private sealed class PolicyFile
    {
        public List<StepFile>? Ownership { get; set; }
        public List<StepFile>? Deadline { get; set; }
    }

    private sealed class StepFile
    {
        public TimeSpan? After { get; set; }
        public TimeSpan? Before { get; set; }
        public bool AtMiss { get; set; }
        public List<string>? Notify { get; set; }
        public TimeSpan? RepeatEvery { get; set; }
    }
}
