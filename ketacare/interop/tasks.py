"""The worker's tasks of the interop app (django.tasks, run by `ketacare worker`)."""

from django.tasks import task

from ketacare.interop import bulk


@task()
def run_bulk_export(export_id: int) -> str:
    """Write one Bulk Data export's NDJSON files (running it again starts that export over)."""
    return bulk.run(export_id=export_id)
