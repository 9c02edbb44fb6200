"""The demo clinic: one clinic with a user for every role and synthetic patients (fake names only).

Each app's demo data is a seeder in this package, `seed(clinic, users: dict[username, User], today) -> None`,
idempotent, run in the order of SEEDERS below.
"""

import base64
import datetime as dt
import random

from django.db import transaction

from ketacare.accounts.models import User
from ketacare.accounts.roles import Role
from ketacare.core import clock
from ketacare.core.models import Clinic
from ketacare.patients.models import Patient, Sex
from ketacare.seed.names import FAMILY, GIVEN

DEMO_USERS = [
    ("admin", Role.CLINIC_ADMIN, "Alex", "Admin"),
    ("prescriber", Role.PRESCRIBER, "Priya", "Raman"),
    ("nurse", Role.NURSE, "Noah", "Okafor"),
    ("frontdesk", Role.FRONT_DESK, "Fran", "Delgado"),
    ("therapist", Role.THERAPIST, "Theo", "Lindqvist"),
    ("researcher", Role.RESEARCHER, "Rita", "Chen"),
    ("auditor", Role.AUDITOR, "Aud", "Itor"),
]
CITIES = [("Boston", "MA", "02115"), ("Cambridge", "MA", "02139"), ("Somerville", "MA", "02143"),
          ("Quincy", "MA", "02169"), ("Newton", "MA", "02458")]
DEMO_PATIENTS = 36
# The demo's admin and prescriber need a second factor (accounts/domain/mfa.py): an authenticator app set up with this
# published key (base32; time-based, 6 digits), or `ketacare mfa code --user prescriber`. Demo logins only.
DEMO_TOTP_SECRET = "KETACAREDEMOSECRETKEYFORTOTPXXXX"


@transaction.atomic
def seed_demo(*, password: str) -> tuple[Clinic, list[User]]:
    """Create or refresh the demo clinic. Idempotent: a second run changes nothing but the passwords."""
    clinic, _ = Clinic.objects.get_or_create(code="rkc", defaults={"name": "Riverside Ketamine Clinic"})
    other, _ = Clinic.objects.get_or_create(code="hvc", defaults={"name": "Harbor View Clinic"})
    users = []
    for username, role, first, last in DEMO_USERS:
        user, _ = User.objects.update_or_create(
            username=username,
            defaults={"clinic": clinic, "role": role, "first_name": first, "last_name": last, "is_active": True,
                      "email": f"{username}@riverside.example"})
        user.set_password(password)
        user.save(update_fields=["password"])
        users.append(user)
    _seed_patients(clinic, DEMO_PATIENTS, seed=1)
    _seed_patients(other, 6, seed=2)
    by_name = {u.username: u for u in users}
    _seed_second_factors(users)
    for seed in seeders():
        seed(clinic, by_name, clock.today())
    return clinic, users


def _seed_second_factors(users: list[User]) -> None:
    """The demo's admin and prescriber get a TOTP device with the published demo key; the demo clinic keeps the default
    setting (nobody else needs one), so the other demo logins sign in with the password alone."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from ketacare.accounts.domain.mfa import ALWAYS_REQUIRED_ROLES, DEMO_DEVICE_NAME

    key = base64.b32decode(DEMO_TOTP_SECRET).hex()
    for user in users:
        if user.role in ALWAYS_REQUIRED_ROLES:
            TOTPDevice.objects.filter(user=user).exclude(name=DEMO_DEVICE_NAME).delete()
            TOTPDevice.objects.update_or_create(user=user, name=DEMO_DEVICE_NAME,
                                                defaults={"key": key, "confirmed": True})


def _seed_patients(clinic: Clinic, count: int, *, seed: int) -> None:
    rng = random.Random(seed)
    now = clock.now()
    today = clock.today()
    existing = set(Patient.objects.filter(clinic=clinic).values_list("mrn", flat=True))
    new = []
    for n in range(1, count + 1):
        mrn = f"{clinic.code.upper()}-{n:06d}"
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        city, state, zip_code = rng.choice(CITIES)
        dob = today - dt.timedelta(days=rng.randint(19 * 365, 78 * 365))
        if mrn in existing:
            continue
        new.append(Patient(
            clinic=clinic, mrn=mrn, given_name=given, family_name=family, date_of_birth=dob,
            sex=rng.choice([Sex.FEMALE, Sex.MALE, Sex.FEMALE, Sex.OTHER]),
            phone=f"+1 617 555 {rng.randint(100, 9999):04d}", email=f"{given.lower()}.{n}@example.com",
            address_line=f"{rng.randint(1, 999)} Example Street", city=city, state=state, postal_code=zip_code,
            emergency_contact_name=f"{rng.choice(GIVEN)} {family}",
            emergency_contact_phone=f"+1 617 555 {rng.randint(100, 9999):04d}",
            created_at=now, updated_at=now))
    Patient.objects.bulk_create(new)
    Clinic.objects.filter(pk=clinic.pk, next_mrn__lte=count).update(next_mrn=count + 1)


def seeders() -> list:
    """The apps' demo seeders, in the order they build on each other."""
    from ketacare.seed.instruments import seed_questionnaires
    from ketacare.seed.interop import seed_imports
    from ketacare.seed.ledger import seed_ledger
    from ketacare.seed.oncall import seed_oncall
    from ketacare.seed.outcomes import seed_outcomes
    from ketacare.seed.screening import seed_screening
    from ketacare.seed.treatment import seed_treatment

    # The imported referral comes first: the later seeders then see the same patients on every run (idempotent).
    return [seed_oncall, seed_imports, seed_questionnaires, seed_screening, seed_treatment, seed_outcomes, seed_ledger]
