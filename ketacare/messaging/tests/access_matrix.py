"""Access matrix rows of the messaging app (see tests/test_access_matrix.py)."""

from ketacare.accounts.roles import Role

PAGES = {
    "messaging:outbox": ("get", {Role.CLINIC_ADMIN}),
}
