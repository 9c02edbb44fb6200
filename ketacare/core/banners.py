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


# Banner counts run on every signed-in page: each is cached per clinic for a few seconds and dropped as soon as the
# rows it counts change (`invalidate_on_change`). The cache is per process, so another app server's copy may lag by
# at most BANNER_TTL seconds; the banner strip also refreshes itself.
BANNER_TTL = 10


def _key(name: str, clinic_id: int) -> str:
    return f"banner:{name}:{clinic_id}"


def cached_count(name: str, clinic_id: int, compute: Callable[[], int]) -> int:
    from django.core.cache import cache

    value = cache.get(_key(name, clinic_id))
    if value is None:
        value = compute()
        cache.set(_key(name, clinic_id), value, BANNER_TTL)
    return value


def invalidate(name: str, clinic_id: int) -> None:
    from django.core.cache import cache

    cache.delete(_key(name, clinic_id))


def invalidate_on_change(name: str, model: type) -> None:
    """Drop the clinic's cached count `name` once a row of `model` is written (after the commit, so that the next
    page counts what was committed)."""
    from django.db import transaction
    from django.db.models.signals import post_save

    def receiver(sender, instance, **kwargs) -> None:
        clinic_id = instance.clinic_id
        invalidate(name, clinic_id)
        transaction.on_commit(lambda: invalidate(name, clinic_id))

    post_save.connect(receiver, sender=model, weak=False, dispatch_uid=f"banner-invalidate:{name}")
