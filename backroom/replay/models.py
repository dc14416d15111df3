from django.db import models
from django.utils import timezone


class ReplayRun(models.Model):
    """One run of the replay, with the report it printed."""

    source = models.CharField(max_length=500)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    report = models.JSONField(null=True, blank=True)


class ClockMark(models.Model):
    """The simulated time at which the replay started a step, against the real clock.

    Every row written between this mark and the next gets `sim_at` when the
    replay moves the engine's real timestamps into the simulated year.
    """

    run = models.ForeignKey(ReplayRun, on_delete=models.CASCADE, related_name="marks")
    real_at = models.DateTimeField()
    sim_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["run", "real_at"])]
