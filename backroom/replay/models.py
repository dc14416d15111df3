from django.db import models
from django.utils import timezone


class ReplayRun(models.Model):
    """One run of the replay, with its progress and the report it printed.

    A run is unfinished while both `finished_at` and `interrupted_at` are empty:
    it is running, or it ended without recording how (a crash, kill -9).
    """

    source = models.CharField(max_length=500)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    report = models.JSONField(null=True, blank=True)
    # Whether the run moves its timestamps into the simulated year (not --no-restamp).
    restamp = models.BooleanField(default=True)
    invoices_selected = models.PositiveIntegerField(default=0)
    # The fields below change in the same transaction as the rows of each batch.
    invoices_committed = models.PositiveIntegerField(default=0)
    first_invoice_at = models.DateTimeField(null=True, blank=True)
    last_invoice = models.CharField(max_length=100, blank=True)
    last_invoice_at = models.DateTimeField(null=True, blank=True)
    # Real time after the run's last commit and the ready notices sent after it. The
    # run stamps its rows no later than this, except in a crash while sending them.
    last_commit_at = models.DateTimeField(null=True, blank=True)
    interrupted_at = models.DateTimeField(null=True, blank=True)
    interruption = models.CharField(max_length=500, blank=True)

    @property
    def unfinished(self) -> bool:
        return self.finished_at is None and self.interrupted_at is None


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
