"""Role groups for access tests, written out independently of ketacare.accounts.roles."""

from ketacare.accounts.roles import Role

ALL = frozenset(Role)
CARE = frozenset({Role.CLINIC_ADMIN, Role.PRESCRIBER, Role.NURSE, Role.FRONT_DESK, Role.THERAPIST})
REGISTER = frozenset({Role.CLINIC_ADMIN, Role.PRESCRIBER, Role.NURSE, Role.FRONT_DESK})
CLINICAL = frozenset({Role.PRESCRIBER, Role.NURSE, Role.THERAPIST})  # clinical panels and data
RECORDERS = frozenset({Role.PRESCRIBER, Role.NURSE, Role.THERAPIST})  # may enter clinical data
PRESCRIBERS = frozenset({Role.PRESCRIBER})
ADMINS = frozenset({Role.CLINIC_ADMIN})
PUBLIC = "public"
