"""The worker's tasks of the messaging app (django.tasks, run by `ketacare worker`)."""

from django.tasks import task

from ketacare.messaging.services import deliver


@task(takes_context=True)
def deliver_message(context, message_id: int) -> str:
    """Send one queued message (a no-op when it is not due or already sent)."""
    worker_ids = context.task_result.worker_ids
    return deliver(message_id=message_id, worker=worker_ids[-1] if worker_ids else "")
