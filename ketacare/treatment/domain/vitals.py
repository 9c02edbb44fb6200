"""Vital-sign and sedation/dissociation alerts during a dosing session, and overdue vitals.

Sources (each default below names its own):
- docs/domain/esketamine-and-rems.md §5 (BP rise ≥ 40/25 mmHg; sedation; dissociation), §6 (BP rules,
  elevated baseline > 140/90, clinic action thresholds 180/110 and 200/120), §7 (pulse oximetry each session).
- docs/domain/instruments.md §7 (CADSS: dissociation = total > 4 and change > 0), §8 (MOAA/S 0-5:
  4 = mild, ≤ 3 = moderate or greater sedation, 0 = loss of consciousness; suggested alert ≤ 3 / ≤ 1).
- docs/domain/iv-ketamine.md §6 (vitals every 10-15 min during infusion, every 15 min after).

Boundary convention: every threshold's name says its comparison, and it is applied exactly as named:
`*_above_*` fires when value > threshold, `*_below_*` when value < threshold,
`*_at_or_below` when value <= threshold, `*_at_least_*` when value >= threshold.

No numeric heart-rate, SpO2 or respiratory-rate thresholds appear in the domain files: those defaults are
marked [U] (clinic policy placeholders) and must be set by the clinic's medical director.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True)
class Thresholds:
    """Alert thresholds of a protocol. Defaults cite their source; clinics override them."""

    # Pre-dose: an elevated baseline needs a documented risk-benefit decision before dosing.
    # PI example "> 140 mmHg systolic or > 90 mmHg diastolic" [S] esketamine-and-rems.md §6.
    baseline_systolic_elevated_above_mmhg: int = 140
    baseline_diastolic_elevated_above_mmhg: int = 90
    # Clinic action thresholds quoted from one academic clinic [S] esketamine-and-rems.md §6:
    # > 180/110 (recheck in 5 min) and > 200/120 once. Not a label rule.
    systolic_alert_above_mmhg: int = 180
    diastolic_alert_above_mmhg: int = 110
    systolic_critical_above_mmhg: int = 200
    diastolic_critical_above_mmhg: int = 120
    # Label: a rise of ≥ 40 mmHg systolic and/or ≥ 25 mmHg diastolic from baseline [C] esketamine-and-rems.md §5.
    systolic_rise_alert_at_least_mmhg: int = 40
    diastolic_rise_alert_at_least_mmhg: int = 25
    # [U] clinic policy placeholders: no source in the domain files gives these numbers.
    heart_rate_alert_above_bpm: int = 120
    heart_rate_alert_below_bpm: int = 50
    spo2_alert_below_pct: int = 92
    spo2_critical_below_pct: int = 88
    resp_rate_alert_below_per_min: int = 10
    resp_rate_alert_above_per_min: int = 24
    # MOAA/S ≤ 3 = moderate or greater sedation [C]; alert ≤ 3 and emergency ≤ 1 are clinic policy [U].
    # instruments.md §8.
    moaas_alert_at_or_below: int = 3
    moaas_critical_at_or_below: int = 1
    # Dissociation as defined in esketamine trials: CADSS total > 4 and change from pre-dose > 0 [C].
    # instruments.md §7.
    cadss_alert_above: int = 4

    def __post_init__(self) -> None:
        problems = []
        if self.systolic_critical_above_mmhg < self.systolic_alert_above_mmhg:
            problems.append("systolic critical threshold is below the alert threshold")
        if self.diastolic_critical_above_mmhg < self.diastolic_alert_above_mmhg:
            problems.append("diastolic critical threshold is below the alert threshold")
        if self.spo2_critical_below_pct > self.spo2_alert_below_pct:
            problems.append("SpO2 critical threshold is above the alert threshold")
        if self.moaas_critical_at_or_below > self.moaas_alert_at_or_below:
            problems.append("MOAA/S critical threshold is above the alert threshold")
        if self.heart_rate_alert_below_bpm >= self.heart_rate_alert_above_bpm:
            problems.append("heart-rate low threshold is not below the high threshold")
        if self.resp_rate_alert_below_per_min >= self.resp_rate_alert_above_per_min:
            problems.append("respiratory-rate low threshold is not below the high threshold")
        if problems:
            raise ValueError("; ".join(problems))


@dataclass(frozen=True)
class VitalsReading:
    """One set of observations; any value may be absent (not measured at this time point)."""

    taken_at: dt.datetime
    systolic_mmhg: int | None = None
    diastolic_mmhg: int | None = None
    heart_rate_bpm: int | None = None
    spo2_pct: int | None = None
    resp_rate_per_min: int | None = None
    moaas: int | None = None  # 0-5, 5 = alert
    cadss_total: int | None = None


@dataclass(frozen=True)
class VitalsFinding:
    code: str
    severity: Severity
    message: str


def baseline_bp_elevated(reading: VitalsReading, t: Thresholds) -> bool:
    """True when the pre-dose BP is above the protocol's elevated-baseline rule (> systolic or > diastolic)."""
    return (reading.systolic_mmhg is not None
            and reading.systolic_mmhg > t.baseline_systolic_elevated_above_mmhg) or (
        reading.diastolic_mmhg is not None
        and reading.diastolic_mmhg > t.baseline_diastolic_elevated_above_mmhg)


def evaluate_vitals(reading: VitalsReading, t: Thresholds,
                    baseline: VitalsReading | None = None) -> list[VitalsFinding]:
    """Findings for one reading, most severe tier only per measure. `baseline` enables rise and CADSS-change rules."""
    r = reading
    found: list[VitalsFinding] = []

    def add(code: str, severity: Severity, message: str) -> None:
        found.append(VitalsFinding(code, severity, message))

    bp = f"{r.systolic_mmhg}/{r.diastolic_mmhg} mmHg"
    sys_critical = r.systolic_mmhg is not None and r.systolic_mmhg > t.systolic_critical_above_mmhg
    dia_critical = r.diastolic_mmhg is not None and r.diastolic_mmhg > t.diastolic_critical_above_mmhg
    if sys_critical or dia_critical:
        add("bp.critical", Severity.CRITICAL,
            f"BP {bp} above {t.systolic_critical_above_mmhg}/{t.diastolic_critical_above_mmhg}")
    elif (r.systolic_mmhg is not None and r.systolic_mmhg > t.systolic_alert_above_mmhg) or (
            r.diastolic_mmhg is not None and r.diastolic_mmhg > t.diastolic_alert_above_mmhg):
        add("bp.high", Severity.WARNING,
            f"BP {bp} above {t.systolic_alert_above_mmhg}/{t.diastolic_alert_above_mmhg}: recheck")

    if baseline is not None:
        if (r.systolic_mmhg is not None and baseline.systolic_mmhg is not None
                and r.systolic_mmhg - baseline.systolic_mmhg >= t.systolic_rise_alert_at_least_mmhg):
            add("bp.systolic_rise", Severity.WARNING,
                f"systolic rose {r.systolic_mmhg - baseline.systolic_mmhg} mmHg from baseline "
                f"(alert at ≥ {t.systolic_rise_alert_at_least_mmhg})")
        if (r.diastolic_mmhg is not None and baseline.diastolic_mmhg is not None
                and r.diastolic_mmhg - baseline.diastolic_mmhg >= t.diastolic_rise_alert_at_least_mmhg):
            add("bp.diastolic_rise", Severity.WARNING,
                f"diastolic rose {r.diastolic_mmhg - baseline.diastolic_mmhg} mmHg from baseline "
                f"(alert at ≥ {t.diastolic_rise_alert_at_least_mmhg})")

    if r.heart_rate_bpm is not None:
        if r.heart_rate_bpm > t.heart_rate_alert_above_bpm:
            add("hr.high", Severity.WARNING,
                f"heart rate {r.heart_rate_bpm}/min above {t.heart_rate_alert_above_bpm}")
        elif r.heart_rate_bpm < t.heart_rate_alert_below_bpm:
            add("hr.low", Severity.WARNING,
                f"heart rate {r.heart_rate_bpm}/min below {t.heart_rate_alert_below_bpm}")

    if r.spo2_pct is not None:
        if r.spo2_pct < t.spo2_critical_below_pct:
            add("spo2.critical", Severity.CRITICAL, f"SpO2 {r.spo2_pct} % below {t.spo2_critical_below_pct}")
        elif r.spo2_pct < t.spo2_alert_below_pct:
            add("spo2.low", Severity.WARNING, f"SpO2 {r.spo2_pct} % below {t.spo2_alert_below_pct}")

    if r.resp_rate_per_min is not None:
        if r.resp_rate_per_min < t.resp_rate_alert_below_per_min:
            add("rr.low", Severity.WARNING,
                f"respiratory rate {r.resp_rate_per_min}/min below {t.resp_rate_alert_below_per_min}")
        elif r.resp_rate_per_min > t.resp_rate_alert_above_per_min:
            add("rr.high", Severity.WARNING,
                f"respiratory rate {r.resp_rate_per_min}/min above {t.resp_rate_alert_above_per_min}")

    if r.moaas is not None:
        if r.moaas <= t.moaas_critical_at_or_below:
            add("moaas.critical", Severity.CRITICAL,
                f"MOAA/S {r.moaas} (≤ {t.moaas_critical_at_or_below}): emergency response")
        elif r.moaas <= t.moaas_alert_at_or_below:
            add("moaas.sedation", Severity.WARNING,
                f"MOAA/S {r.moaas} (≤ {t.moaas_alert_at_or_below}): moderate or greater sedation")

    if r.cadss_total is not None and r.cadss_total > t.cadss_alert_above:
        # The trial definition also needs a rise from pre-dose; without a baseline, alert anyway (safer).
        rising = baseline is None or baseline.cadss_total is None or r.cadss_total > baseline.cadss_total
        if rising:
            add("cadss.dissociation", Severity.WARNING,
                f"CADSS {r.cadss_total} above {t.cadss_alert_above}: dissociation")
    return found


@dataclass(frozen=True)
class VitalsSchedule:
    """Time points in minutes after the first dose, and how far a reading may be early or late."""

    minutes: tuple[int, ...]
    # [U] clinic policy: a reading up to 5 min early counts, and the slot is overdue once 5 min late.
    grace_minutes: int = 5

    def __post_init__(self) -> None:
        if any(m < 0 for m in self.minutes) or list(self.minutes) != sorted(set(self.minutes)):
            raise ValueError("vitals minutes must be non-negative, unique and ascending")
        if self.grace_minutes < 0:
            raise ValueError("grace minutes must be non-negative")


@dataclass(frozen=True)
class VitalsDue:
    next_due_at: dt.datetime | None
    overdue: tuple[dt.datetime, ...]

    @property
    def findings(self) -> list[VitalsFinding]:
        return [VitalsFinding("vitals.overdue", Severity.WARNING, f"vitals due at {at.isoformat()} not recorded")
                for at in self.overdue]


def vitals_due(schedule: VitalsSchedule, first_dose_at: dt.datetime,
               recorded_times: Iterable[dt.datetime], now: dt.datetime) -> VitalsDue:
    """Which scheduled readings are overdue, and when the next one is due.

    Slot i at time T_i is satisfied by any reading in [T_i - grace, T_(i+1) - grace) (late readings count until
    the next slot opens; the last slot never closes). An unsatisfied slot is overdue when now > T_i + grace.
    """
    grace = dt.timedelta(minutes=schedule.grace_minutes)
    due = [first_dose_at + dt.timedelta(minutes=m) for m in schedule.minutes]
    recorded = sorted(recorded_times)
    overdue: list[dt.datetime] = []
    upcoming: list[dt.datetime] = []
    for i, at in enumerate(due):
        opens = at - grace
        closes = due[i + 1] - grace if i + 1 < len(due) else None
        if any(opens <= t and (closes is None or t < closes) for t in recorded):
            continue
        (overdue if now > at + grace else upcoming).append(at)
    return VitalsDue(next_due_at=upcoming[0] if upcoming else None, overdue=tuple(overdue))
