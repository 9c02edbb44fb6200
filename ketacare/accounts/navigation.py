"""Navigation entries, shown to a role only when it holds the entry's permission."""

from dataclasses import dataclass

from ketacare.accounts.roles import Perm


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    perm: Perm


NAV: list[NavItem] = [
    NavItem("Home", "home", Perm.HOME),
    NavItem("Patients", "patients:list", Perm.PATIENT_VIEW),
    NavItem("Audit trail", "audit:list", Perm.AUDIT_VIEW),
    NavItem("Staff", "accounts:staff", Perm.STAFF_MANAGE),
]


def register(item: NavItem, *, before: str | None = None) -> None:
    """Later apps add their own entries (called from AppConfig.ready)."""
    if any(i.url_name == item.url_name for i in NAV):
        return
    index = next((n for n, i in enumerate(NAV) if i.url_name == before), len(NAV))
    NAV.insert(index, item)
