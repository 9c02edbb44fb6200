"""Cards on the start page, one per thing a role does first thing in the morning (apps register theirs in ready())."""

from dataclasses import dataclass

from ketacare.accounts.roles import Perm


@dataclass(frozen=True)
class HomeCard:
    title: str
    text: str
    url_name: str
    button: str
    perm: Perm
    order: int


CARDS: dict[str, HomeCard] = {}


def register(card: HomeCard) -> None:
    CARDS[card.url_name] = card


def cards_for(user) -> list[HomeCard]:
    return [c for c in sorted(CARDS.values(), key=lambda c: c.order) if user.has_perm_to(c.perm)]


register(HomeCard("Patients", "Find a patient by name, MRN or date of birth and open the chart.", "patients:list",
                  "Find a patient", Perm.PATIENT_VIEW, 20))
register(HomeCard("Audit trail", "Who opened or changed which record, when and from where.", "audit:list",
                  "Review the audit trail", Perm.AUDIT_VIEW, 70))
register(HomeCard("Staff", "Add colleagues, change roles, deactivate accounts.", "accounts:staff", "Manage staff",
                  Perm.STAFF_MANAGE, 80))
