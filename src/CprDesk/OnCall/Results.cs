// The outputs of the on-call calculator: who is on call at an instant, shifts over a window, and coverage gaps.
namespace CprDesk.OnCall;

/// <summary>The person on call at an instant.</summary>
/// <param name="User">Who is on call.</param>
/// <param name="Layer">The layer that put them there, or <see cref="OnCallCalculator.OverrideLayer"/>.</param>
/// <param name="ViaOverride">True when an override put them there.</param>
/// <param name="CoveringFor">The absent person the rotation scheduled, when <paramref name="User"/> is covering
/// for them; null otherwise (always null for an override).</param>
/// <param name="UserAbsent">True only for an override whose user is recorded as absent at that instant. The override
/// stands, because it is an explicit human decision, but someone should look at it.</param>
/// <param name="UntilUtc">When this coverage ends: the first instant at which any of the fields above differ
/// (capped as described on <see cref="OnCallAnswer"/>).</param>
public sealed record OnCallDuty(string User, string Layer, bool ViaOverride, string? CoveringFor, bool UserAbsent, DateTime UntilUtc);

/// <summary>The answer for one instant.</summary>
/// <param name="Primary">Who is on call, or null when nobody is (a coverage gap).</param>
/// <param name="Secondary">Walking the top layer's rotation from the person scheduled for its current shift, the first
/// person who is neither absent nor the primary. The top layer is the highest-priority layer that has someone available
/// at that instant, ignoring overrides; so under an override the secondary is normally the person it displaced. Null when
/// no layer has anyone, or nobody else in that rotation is available. Lower layers are never consulted.</param>
/// <param name="UntilUtc">The answer (primary, with all its fields, and secondary) is the same on [AtUtc, UntilUtc), and
/// differs at UntilUtc. If it does not change within <see cref="OnCallCalculator.Lookahead"/> of AtUtc, UntilUtc is
/// AtUtc + Lookahead (and so is Primary.UntilUtc if the primary does not change either): ask again then.</param>
public sealed record OnCallAnswer(DateTime AtUtc, OnCallDuty? Primary, string? Secondary, DateTime UntilUtc);

/// <summary>A maximal interval within the asked window during which the same person is on call in the same way
/// (same layer, override or not, covering for the same person). Two back-to-back rotation shifts of the same person
/// are therefore one <see cref="OnCallShift"/>.</summary>
public sealed record OnCallShift(
    string User, string Layer, DateTime FromUtc, DateTime UntilUtc, bool ViaOverride, string? CoveringFor, bool UserAbsent);

/// <summary>A maximal interval within the asked window with nobody on call.</summary>
public sealed record CoverageGap(DateTime FromUtc, DateTime ToUtc);
