"""Each app adds its own demo data: `register(order, seed)` from AppConfig.ready(); `ketacare demo` runs them in order.

A seeder is `seed(clinic, users: dict[username, User], today) -> None` and must be idempotent.
"""

from collections.abc import Callable

SEEDERS: list[tuple[int, str, Callable]] = []


def register(order: int, seed: Callable) -> None:
    name = f"{seed.__module__}.{seed.__qualname__}"
    if all(existing != name for _, existing, _ in SEEDERS):
        SEEDERS.append((order, name, seed))
        SEEDERS.sort(key=lambda entry: entry[0])
