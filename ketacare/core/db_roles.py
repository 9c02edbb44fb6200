"""PostgreSQL roles for production (privacy.md §1, audit controls): a migration role that owns the schema and every
table, and an application role that serves requests and runs the worker but owns nothing. Owning nothing, the
application role cannot TRUNCATE, disable or drop a trigger, run DDL or set `session_replication_role`; on the audit
table it may only INSERT and SELECT, and on the other append-only tables not DELETE (their trigger refuses the
changes an UPDATE must not make). `ketacare db roles` prints this SQL (docs/audit.md)."""

from __future__ import annotations

from ketacare.core.append_only import append_only_models

AUDIT_TABLE = "audit_auditevent"


def _ident(name: str) -> str:
    if not name or '"' in name or "\x00" in name:
        raise ValueError(f"not a usable role or database name: {name!r}")
    return f'"{name}"'


def roles_sql(*, app_role: str, migrator_role: str, database: str, create_roles: bool = True,
              schema: str = "public") -> str:
    """The SQL, idempotent from its grants on: run the first part once as a superuser, then all of it again after
    every `migrate` (new tables get the defaults; append-only tables are narrowed by name)."""
    app, migrator, db, sch = _ident(app_role), _ident(migrator_role), _ident(database), _ident(schema)
    lines = ["-- KetaCare PostgreSQL roles (docs/audit.md). Run as a superuser."]
    if create_roles:
        lines += [
            f"CREATE ROLE {migrator} LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB NOREPLICATION NOBYPASSRLS;",
            f"CREATE ROLE {app} LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB NOREPLICATION NOBYPASSRLS NOINHERIT;",
            "-- set their passwords with psql's \\password, not here",
            f"ALTER DATABASE {db} OWNER TO {migrator};",
            f"ALTER SCHEMA {sch} OWNER TO {migrator};",
            "-- then `ketacare migrate` as the migration role, and the rest (again after every migrate):",
        ]
    lines += [
        f"REVOKE ALL ON DATABASE {db} FROM PUBLIC;",
        f"REVOKE CREATE ON SCHEMA {sch} FROM PUBLIC;",
        f"GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {app};",
        f"GRANT USAGE ON SCHEMA {sch} TO {app};",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {sch} TO {app};",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {sch} TO {app};",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {migrator} IN SCHEMA {sch} "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app};",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {migrator} IN SCHEMA {sch} GRANT USAGE, SELECT ON SEQUENCES TO {app};",
        f"REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA {sch} FROM {app};",
    ]
    for model in append_only_models():
        table = f"{sch}.{_ident(model._meta.db_table)}"
        refused = "UPDATE, DELETE" if model._meta.db_table == AUDIT_TABLE else "DELETE"
        lines.append(f"REVOKE {refused} ON {table} FROM {app};")
    return "\n".join(lines) + "\n"
