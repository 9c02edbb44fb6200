"""Where an alert's source record lives: apps register a URL name per source_type (from AppConfig.ready)."""

from django.urls import NoReverseMatch, reverse

SOURCES: dict[str, tuple[str, str, str]] = {}  # source_type -> (url name, url kwarg, label)


def register_source(source_type: str, url_name: str, kwarg: str, label: str) -> None:
    SOURCES[source_type] = (url_name, kwarg, label)


def source_url(alert) -> tuple[str, str] | None:
    """(url, label) of the record that raised the alert, if its app registered one."""
    entry = SOURCES.get(alert.source_type)
    if entry is None:
        return None
    url_name, kwarg, label = entry
    try:
        return reverse(url_name, kwargs={kwarg: alert.source_id}), label
    except NoReverseMatch:
        return None
