"""Cards on the start page, one per thing a role does first thing in the morning (apps register theirs in ready())."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # core is the base layer: it names the permission type, it imports no app
    from ketacare.accounts.roles import Perm


@dataclass(frozen=True)
class HomeCard:
    title: str
    text: str
    url_name: str
    button: str
    perm: "Perm"
    order: int


CARDS: dict[str, HomeCard] = {}


def register(card: HomeCard) -> None:
    CARDS[card.url_name] = card


def cards_for(user) -> list[HomeCard]:
    return [c for c in sorted(CARDS.values(), key=lambda c: c.order) if user.has_perm_to(c.perm)]
