"""Synthetic data at scale: a network of clinics with staff, patients (fake names), intake and diagnoses, signed
eligibility and consent, treatment courses, dosing sessions with doses, vitals, side effects and adverse events,
questionnaires on schedule with plausible trajectories (response, relapse, boosters), the safety alerts the
questionnaire rules raise and their acknowledgement, and the outcome summaries of the clinic report.

Rows are written in bulk, bypassing the services (no audit rows: this is generated data): PostgreSQL COPY through
psycopg's `cursor.copy`, SQLite `executemany`. Ids are assigned here (run it on a database nobody else is writing
to); sequences are moved past them at the end. Questionnaire answers are scored by the instruments domain (scores
and alerts are exactly what `response_record` would store), cached per distinct answer set.

Trajectory model (plausible, not fitted; evidence.md §5-6, iv-ketamine.md §2): a latent severity falls during a
series by a patient-specific fraction (responders ~ 55-70 %), and the benefit fades after the last dose with a
patient-specific durability (median ~ 18-25 days after an IV series); IV patients who relapse get boosters.
"""

from ketacare.seed.synth.answers import AnswerBank
from ketacare.seed.synth.bulk import UTC, BulkWriter
from ketacare.seed.synth.driver import _clinic_ctx, add_patients, generate, local_date, seed_clinic_demo
from ketacare.seed.synth.simulation import Generator

__all__ = ["UTC", "AnswerBank", "BulkWriter", "Generator", "_clinic_ctx", "add_patients", "generate", "local_date",
           "seed_clinic_demo"]
