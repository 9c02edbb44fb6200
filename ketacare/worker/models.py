"""The scheduler's state: one row per periodic job, claimed by one worker per period."""

from django.db import models


class PeriodicJob(models.Model):
    """A job registered with `ketacare.worker.periodic.register`. A worker runs it when `next_run_at` has passed,
    after moving `next_run_at` one period on in an atomic conditional update: only one worker's update matches, so
    the job runs at most once per period however many workers there are."""

    name = models.CharField(max_length=100, unique=True)
    every_seconds = models.PositiveIntegerField()
    next_run_at = models.DateTimeField()
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_worker = models.CharField(max_length=64, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    runs = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
