"""Audit events use the one append-only primitive (ketacare.core.append_only): its trigger, installed after every
migrate, replaces the hand-written one of 0002. `action` drops `choices=` so that new actions need no migration."""

from django.db import migrations, models

DROP_OLD = """
DROP TRIGGER IF EXISTS audit_event_no_update_delete ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_event_immutable();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_OLD)


class Migration(migrations.Migration):
    dependencies = [("audit", "0006_add_outcomes_actions")]
    operations = [
        migrations.AlterField(model_name="auditevent", name="action", field=models.CharField(db_index=True, max_length=32)),
        migrations.RunPython(forward, migrations.RunPython.noop),
    ]
