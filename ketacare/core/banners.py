"""Banners shown on every staff page (e.g. unacknowledged high-severity alerts). Apps register providers in ready().

A provider is `provider(request) -> list[dict]` with keys: level ("danger"|"warning"|"info"), text, url, count.
Providers must be cheap (one indexed query) because they run on every page.
"""

from collections.abc import Callable

PROVIDERS: list[Callable] = []


def register(provider: Callable) -> None:
    if provider not in PROVIDERS:
        PROVIDERS.append(provider)


def banners(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"banners": []}
    return {"banners": [b for provider in PROVIDERS for b in provider(request)]}
