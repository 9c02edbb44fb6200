"""The worker's tasks of the messaging app (django.tasks, run by `ketacare worker`)."""

from django.tasks import task

from ketacare.messaging.services import deliver


@task()
def deliver_message(message_id: int) -> str:
    """Send one queued message (a no-op when it is not due or already sent)."""
    return deliver(message_id=message_id, worker="task")
