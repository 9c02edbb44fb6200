"""The bulk writer of generated data: ids assigned here, rows by PostgreSQL COPY or SQLite executemany."""

from __future__ import annotations

import datetime as dt
import json
import operator
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection, models
from django.db.models import NOT_PROVIDED, Max

UTC = dt.UTC


class JsonText(str):
    """JSON already encoded (cached answer sets): written as is."""


_EMPTY_JSON = {"[]": JsonText("[]"), "{}": JsonText("{}")}


@dataclass
class _Table:
    model: type[models.Model]
    columns: list[str]  # db column names
    attnames: list[str]
    fields: list[models.Field]
    defaults: list[Any]
    json: set[int]


class BulkWriter:
    """Collects rows per model (dicts of attname -> value) and writes them in one COPY / executemany per table."""

    def __init__(self) -> None:
        self.pg = connection.vendor == "postgresql"
        self.tables: dict[type[models.Model], _Table] = {}
        self.rows: dict[type, list[dict]] = defaultdict(list)
        self.next_id: dict[type[models.Model], int] = {}
        self.written = 0

    def _table(self, model) -> _Table:
        table = self.tables.get(model)
        if table is None:
            fields = [f for f in model._meta.concrete_fields]
            defaults = []
            for f in fields:
                if f.has_default():
                    value = f.get_default()
                elif f.null or f.primary_key:
                    value = None
                elif f.blank and isinstance(f, models.CharField | models.TextField):
                    value = ""
                else:
                    value = NOT_PROVIDED
                defaults.append(value)
            table = _Table(model, [f.column for f in fields], [f.attname for f in fields], fields, defaults,
                           {n for n, f in enumerate(fields) if isinstance(f, models.JSONField)})
            self.tables[model] = table
        return table

    def new_id(self, model) -> int:
        if model not in self.next_id:
            self.next_id[model] = (model.objects.aggregate(m=Max("pk"))["m"] or 0) + 1
        value = self.next_id[model]
        self.next_id[model] = value + 1
        return value

    def add(self, model, **values) -> dict:
        self.rows[model].append(values)
        return values

    def flush(self) -> None:
        for model, rows in self.rows.items():
            if rows:
                self._write(self._table(model), rows)
                self.written += len(rows)
        self.rows = defaultdict(list)

    def _tuples(self, table: _Table, rows: list[dict]) -> Iterable[tuple]:
        attnames, defaults, json_cols = table.attnames, table.defaults, table.json
        missing = [a for a, d in zip(attnames, defaults, strict=True) if d is NOT_PROVIDED and a not in rows[0]]
        if missing:
            raise RuntimeError(f"synth: {table.model.__name__} needs values for {missing}")
        base = dict(zip(attnames, defaults, strict=True))
        pick = operator.itemgetter(*attnames)
        json_names = [attnames[n] for n in sorted(json_cols)]
        for row in rows:
            merged = base | row
            for name in json_names:
                value = merged[name]
                if value is not None and not isinstance(value, JsonText):
                    merged[name] = _EMPTY_JSON.get(repr(value)) or JsonText(json.dumps(value, separators=(",", ":")))
            yield pick(merged)

    def _write(self, table: _Table, rows: list[dict]) -> None:
        name = table.model._meta.db_table
        cols = ", ".join(connection.ops.quote_name(c) for c in table.columns)
        if self.pg:
            with connection.cursor() as cursor:
                raw = cursor.cursor
                with raw.copy(f"COPY {connection.ops.quote_name(name)} ({cols}) FROM STDIN") as copy:
                    for row in self._tuples(table, rows):
                        copy.write_row(row)
            return
        prepared = []
        fields = table.fields
        for row in self._tuples(table, rows):
            prepared.append([v if isinstance(v, JsonText) or v is None else f.get_db_prep_save(v, connection)
                             for f, v in zip(fields, row, strict=True)])
        marks = ", ".join(["%s"] * len(table.columns))
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {connection.ops.quote_name(name)} ({cols}) VALUES ({marks})", prepared)

    def analyze(self) -> None:
        """Refresh the planner statistics of the tables written (after a bulk load they describe empty tables, and
        the planner would pick sequential scans over millions of rows)."""
        with connection.cursor() as cursor:
            for model in self.tables:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")

    def reset_sequences(self) -> None:
        """Move the id sequences past the ids assigned here (PostgreSQL)."""
        if not self.pg:
            return
        with connection.cursor() as cursor:
            for model in self.next_id:
                table = model._meta.db_table
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                    f"GREATEST((SELECT COALESCE(MAX(id), 1) FROM {connection.ops.quote_name(table)}), 1))", [table])
