"""Background export jobs: state in PostgreSQL, files on disk, workers claiming queued jobs."""

from exporter.jobs.model import Job, JobSpec, JobState, parse_job_spec
from exporter.jobs.store import JobStore
from exporter.jobs.worker import JobWorker

__all__ = [
    "Job",
    "JobSpec",
    "JobState",
    "JobStore",
    "JobWorker",
    "events",
    "metrics",
    "model",
    "parse_job_spec",
    "schema",
    "storage",
    "store",
    "worker",
]
