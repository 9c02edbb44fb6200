"""Each audit event is chained to the one before it in its clinic (audit/domain/chain.py). Events already stored are
chained here, in the order they were written; the append-only trigger is lifted for that and put back after
`migrate` (core/append_only.py::install_triggers)."""

from django.db import migrations, models

from ketacare.audit.domain.chain import CONTENT_COLUMNS, GENESIS, event_hash


def chain_existing(apps, schema_editor):
    connection = schema_editor.connection
    AuditEvent = apps.get_model("audit", "AuditEvent")
    if not AuditEvent.objects.exists():
        return
    if connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
    elif connection.vendor == "sqlite":
        for op in ("update", "delete"):
            schema_editor.execute(f'DROP TRIGGER IF EXISTS "ketacare_append_only_{op}_audit_auditevent"')
    heads: dict = {}
    for event in AuditEvent.objects.order_by("id").iterator():
        seq, prev = heads.get(event.clinic_id, (0, GENESIS))
        event.seq, event.prev_hash = seq + 1, prev
        event.hash = event_hash(prev, {name: getattr(event, name) for name in CONTENT_COLUMNS})
        AuditEvent.objects.filter(pk=event.pk).update(seq=event.seq, prev_hash=event.prev_hash, hash=event.hash)
        heads[event.clinic_id] = (event.seq, event.hash)
    if connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")


class Migration(migrations.Migration):
    dependencies = [("audit", "0007_append_only_primitive")]
    operations = [
        migrations.AddField(model_name="auditevent", name="seq", field=models.PositiveBigIntegerField(default=0)),
        migrations.AddField(model_name="auditevent", name="prev_hash",
                            field=models.CharField(default="", max_length=64)),
        migrations.AddField(model_name="auditevent", name="hash", field=models.CharField(default="", max_length=64)),
        migrations.RunPython(chain_existing, migrations.RunPython.noop),
        migrations.AddConstraint(model_name="auditevent", constraint=models.UniqueConstraint(
            fields=("clinic", "seq"), name="audit_event_one_seq_per_clinic_chain")),
        migrations.AddConstraint(model_name="auditevent", constraint=models.UniqueConstraint(
            condition=models.Q(("clinic__isnull", True)), fields=("seq",),
            name="audit_event_one_seq_in_no_clinic_chain")),
    ]
