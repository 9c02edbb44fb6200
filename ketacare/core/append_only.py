"""One primitive for records that must not change: append-only models, refused by the ORM and by PostgreSQL.

A model that subclasses `AppendOnlyModel` is written once. Two kinds of legitimate later state are declared on the
model, and only those:

* `append_only_mutable_once = ("acknowledged_by", ...)`: columns that may go from empty (NULL or "") to a value once,
  while every other column stays as inserted (an acknowledgement, a send);
* `append_only_frozen_by = "signed_at"`: the row may change freely while that column is empty (a draft), and not at
  all once it is set (signed, sent, acknowledged), except for its `append_only_mutable_once` columns, if it declares
  any (a co-signature added once to a signed decision).

A model may name its own subclass of `ImmutableRecord` in `append_only_error` (a more specific code and message);
it is still the one exception type.

Every path is refused with the one exception `ImmutableRecord`: `save()` of a stored row that changes anything else,
`delete()`, and the bulk `QuerySet.update()`, `delete()` and `bulk_update()` (also through `_base_manager`). On
PostgreSQL the database itself refuses the same `UPDATE`s and every `DELETE`: a trigger per table, installed (and
refreshed) after every `migrate` by `install_triggers`, from the same declarations. `append_only_models()` lists
the tables in one place.

On SQLite, a model that sets `append_only_sqlite_trigger = True` (the audit trail) gets triggers that refuse every
`UPDATE` and `DELETE` too, whoever sends them. The one exception is Django's `flush` between transactional tests,
which the test suite opens with `flush_allowed()`; the SQL function the DELETE trigger asks is registered on
KetaCare's own connections only, so another client (the sqlite3 shell) is refused as well.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from django.apps import apps
from django.db import connections, models

from ketacare.core.errors import Conflict

TRIGGER = "ketacare_append_only"
FUNCTION = "ketacare_append_only"


class ImmutableRecord(Conflict):
    """This record is append-only: it cannot be changed or deleted (record a correction instead)."""

    code = "record.immutable"


class AppendOnlyQuerySet(models.QuerySet):
    """Bulk writes would bypass the model's rules, so they are refused outright."""

    def update(self, **kwargs: Any) -> int:
        raise ImmutableRecord(f"{self.model._meta.verbose_name} rows cannot be updated in bulk")

    def bulk_update(self, objs: Iterable[Any], fields: Any, batch_size: int | None = None) -> int:
        raise ImmutableRecord(f"{self.model._meta.verbose_name} rows cannot be updated in bulk")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ImmutableRecord(f"{self.model._meta.verbose_name} rows cannot be deleted")

    def _raw_delete(self, using: str | None) -> int:
        raise ImmutableRecord(f"{self.model._meta.verbose_name} rows cannot be deleted")

    _raw_delete.queryset_only = True  # type: ignore[attr-defined]


AppendOnlyManager = models.Manager.from_queryset(AppendOnlyQuerySet)


def _concrete(model: models.Model | type[models.Model], name: str) -> models.Field:
    """The concrete field `name` of `model` (the append-only settings only ever name concrete fields)."""
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field), f"{name} is not a concrete field"
    return field


def _empty(value: Any) -> bool:
    return value is None or value == ""


class AppendOnlyModel(models.Model):
    """Base for append-only records. Put it first in the bases: `class Foo(AppendOnlyModel, ClinicOwned)`."""

    append_only_mutable_once: ClassVar[tuple[str, ...]] = ()
    append_only_frozen_by: ClassVar[str | None] = None
    append_only_error: ClassVar[type[ImmutableRecord]] = ImmutableRecord
    append_only_sqlite_trigger: ClassVar[bool] = False

    objects = AppendOnlyManager()

    class Meta:
        abstract = True
        # Django's plain base manager (used for related access and by the deletion collector) would bypass the
        # queryset's refusals; ours reads the same rows. Subclasses' own Meta inherit this through the parent.
        base_manager_name = "objects"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self._state.adding or self.pk is None:
            super().save(*args, **kwargs)
            return
        columns = self._append_only_columns()
        compared = list(columns)
        if kwargs.get("update_fields") is not None:  # only what the caller asked to save is compared and written
            asked = {_concrete(self, name).attname for name in kwargs["update_fields"]}
            compared = [att for att in columns if att in asked]
        stored = type(self)._default_manager.filter(pk=self.pk).values(*columns).first()
        error = self.append_only_error
        if stored is None:
            raise error(f"{self._meta.verbose_name} {self.pk} is not stored and cannot be updated")
        changed = [att for att in compared if getattr(self, att) != stored[att]]
        if not changed:
            return
        frozen_by = self.append_only_frozen_by
        if frozen_by is not None and _empty(stored[_concrete(self, frozen_by).attname]):
            kwargs["update_fields"] = changed
            super().save(*args, **kwargs)
            return
        allowed = {_concrete(self, name).attname for name in self.append_only_mutable_once}
        refused = [columns[att] for att in changed if att not in allowed or not _empty(stored[att])]
        if refused:
            if frozen_by is not None and not allowed:
                raise error(f"{self._meta.verbose_name} {self.pk} is final and cannot change")
            raise error(f"{self._meta.verbose_name} {self.pk} cannot change: {', '.join(refused)}")
        kwargs["update_fields"] = changed
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise self.append_only_error(f"{self._meta.verbose_name} {self.pk} cannot be deleted")

    def _append_only_columns(self) -> dict[str, str]:
        """attname -> field name for the concrete columns, but the primary key."""
        return {f.attname: f.name for f in self._meta.concrete_fields if not f.primary_key}


def append_only_models() -> list[type[AppendOnlyModel]]:
    """Every installed append-only model: the one list of tables the database must defend."""
    return sorted((m for m in apps.get_models() if issubclass(m, AppendOnlyModel)), key=lambda m: m._meta.db_table)


# PostgreSQL: one generic trigger function; each table passes its own mutable-once columns and freeze column.
# `to_jsonb(row) - columns` compares every column but the allowed ones, so later migrations that add columns
# are covered without touching the trigger.
FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    once text[] := TG_ARGV[0]::text[];
    frozen_by text := NULLIF(TG_ARGV[1], '');
    o jsonb;
    n jsonb;
    col text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION USING MESSAGE = TG_TABLE_NAME || ' is append-only: DELETE refused',
            ERRCODE = 'insufficient_privilege';
    END IF;
    o := to_jsonb(OLD);
    n := to_jsonb(NEW);
    IF frozen_by IS NOT NULL AND (o ->> frozen_by IS NULL OR o ->> frozen_by = '') THEN
        RETURN NEW;  -- a draft: free until its freezing column is set
    END IF;
    IF (o - once) IS DISTINCT FROM (n - once) THEN
        RAISE EXCEPTION USING MESSAGE = TG_TABLE_NAME || ' is append-only: UPDATE refused',
            ERRCODE = 'insufficient_privilege';
    END IF;
    FOREACH col IN ARRAY once LOOP
        IF (o -> col) IS DISTINCT FROM (n -> col) AND o ->> col IS NOT NULL AND o ->> col <> '' THEN
            RAISE EXCEPTION USING MESSAGE = TG_TABLE_NAME || '.' || col || ' is set once: UPDATE refused',
                ERRCODE = 'insufficient_privilege';
        END IF;
    END LOOP;
    RETURN NEW;
END;
$$;
"""


def _trigger_args(model: type[AppendOnlyModel]) -> tuple[str, str]:
    once = [str(_concrete(model, name).column) for name in model.append_only_mutable_once]
    frozen = str(_concrete(model, model.append_only_frozen_by).column) if model.append_only_frozen_by else ""
    return "{" + ",".join(once) + "}", frozen


SQLITE_FLUSH_FUNCTION = "ketacare_flush_allowed"
_flush_allowed = False


@contextlib.contextmanager
def flush_allowed() -> Iterator[None]:
    """Let SQLite's DELETE trigger pass inside (Django's `flush` between transactional tests); nothing else."""
    global _flush_allowed
    _flush_allowed = True
    try:
        yield
    finally:
        _flush_allowed = False


def register_sqlite_functions(sender: Any, connection: Any, **kwargs: Any) -> None:
    """connection_created receiver: the function SQLite's DELETE trigger asks (absent elsewhere: refused)."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(SQLITE_FLUSH_FUNCTION, 0, lambda: int(_flush_allowed))


def _install_sqlite_triggers(connection: Any) -> list[str]:
    done: list[str] = []
    with connection.cursor() as cursor:
        existing = set(connection.introspection.table_names(cursor))
        for model in append_only_models():
            table = model._meta.db_table
            if not model.append_only_sqlite_trigger or table not in existing:
                continue
            quoted = connection.ops.quote_name(table)
            for op, when in (("UPDATE", ""), ("DELETE", f"WHEN NOT {SQLITE_FLUSH_FUNCTION}() ")):
                name = connection.ops.quote_name(f"{TRIGGER}_{op.lower()}_{table}")
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
                cursor.execute(f"CREATE TRIGGER {name} BEFORE {op} ON {quoted} FOR EACH ROW {when}"
                               f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {op} refused'); END")
            done.append(table)
    return done


def install_triggers(using: str = "default") -> list[str]:
    """(Re)create the refusing trigger on every append-only table (PostgreSQL), or on those that ask for one on
    SQLite; returns the tables covered."""
    connection = connections[using]
    if connection.vendor == "sqlite":
        return _install_sqlite_triggers(connection)
    if connection.vendor != "postgresql":
        return []
    done: list[str] = []
    with connection.cursor() as cursor:
        existing = set(connection.introspection.table_names(cursor))
        cursor.execute(FUNCTION_SQL)
        for model in append_only_models():
            table = model._meta.db_table
            if table not in existing:
                continue
            once, frozen = _trigger_args(model)
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {quoted}")
            # The arguments are column names from the models' own declarations, never user input.
            cursor.execute(
                f"CREATE TRIGGER {TRIGGER} BEFORE UPDATE OR DELETE ON {quoted} FOR EACH ROW "
                f"EXECUTE FUNCTION {FUNCTION}('{once}', '{frozen}')"
            )
            done.append(table)
    return done


def install_triggers_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """post_migrate receiver (connected once, for the core app: by then every app's tables exist)."""
    if sender.label == "core":
        install_triggers(using)
