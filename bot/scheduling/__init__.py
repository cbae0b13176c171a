"""The durable scheduler: jobs that run once at their time across restarts and processes."""

from bot.scheduling.recurring import Recurrence, crontab_trigger, utc_minute_key
from bot.scheduling.runner import DurableScheduler, Handler, JobKind, RunReport
from bot.scheduling.store import Job, cancel, get_job, schedule

__all__ = [
    "DurableScheduler",
    "Handler",
    "Job",
    "JobKind",
    "Recurrence",
    "RunReport",
    "cancel",
    "crontab_trigger",
    "get_job",
    "schedule",
    "utc_minute_key",
]
