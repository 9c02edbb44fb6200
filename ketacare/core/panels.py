"""Chart panels: each app adds its own section to the patient chart (registered from AppConfig.ready)."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # core is the base layer: it names the permission type, it imports no app
    from ketacare.accounts.roles import Perm


@dataclass(frozen=True)
class ChartPanel:
    key: str
    title: str
    template: str
    perm: "Perm"
    order: int
    context: Callable[..., dict[str, Any]]  # (request, patient) -> context for the template


PANELS: dict[str, ChartPanel] = {}


def register_panel(panel: ChartPanel) -> None:
    PANELS[panel.key] = panel


def panels_for(request, patient) -> list[dict[str, Any]]:
    shown = []
    for panel in sorted(PANELS.values(), key=lambda p: p.order):
        if request.user.has_perm_to(panel.perm):
            shown.append({"panel": panel, "context": panel.context(request, patient)})
    return shown
