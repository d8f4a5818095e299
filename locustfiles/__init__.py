"""Load that scenarios can lean on: Locust profiles run headless in subprocesses, and their results.

The controller side (this package's top level, safe to import anywhere) never imports Locust; the
Locust side (``collect``, ``users`` and the profile locustfiles ``steady``, ``spike``,
``write_ledger``, ``bench``) is imported only inside the Locust processes.

    profiles    names -> locustfiles            options    validation, loopback and target checks
    process     start / stop / kill Locust      runner     LoadRun, the context manager
    results     EndpointStats, WindowStats,     buckets   per-request cells: windows, status codes
                LoadResult, Artifacts           csvstats   Locust's stats CSV
    ledger      acknowledged writes vs Postgres fixtures  pytest fixtures     cli  `alertdrill load`
"""

from alertdrill.locustfiles.buckets import RequestBuckets
from alertdrill.locustfiles.ledger import Ack, LedgerReport, LostWritesError, check_ledger, read_ledger
from alertdrill.locustfiles.options import LoadOptions, check_loopback_target, check_target_answers
from alertdrill.locustfiles.profiles import PROFILES, Profile, get_profile
from alertdrill.locustfiles.results import Artifacts, EndpointStats, LoadResult, WindowStats
from alertdrill.locustfiles.runner import LoadRun

__all__ = [
    "PROFILES",
    "Ack",
    "Artifacts",
    "EndpointStats",
    "LedgerReport",
    "LoadOptions",
    "LoadResult",
    "LoadRun",
    "LostWritesError",
    "Profile",
    "RequestBuckets",
    "WindowStats",
    "check_ledger",
    "check_loopback_target",
    "check_target_answers",
    "get_profile",
    "read_ledger",
]
