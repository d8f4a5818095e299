"""The load profiles a scenario can ask for, by name, without importing Locust.

The controller (pytest, the CLI) must never import ``locust``: importing it monkey-patches the whole
process with gevent. So a profile is described here by its locustfile's path and the parameters it
accepts; only the Locust subprocess imports the file itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from alertdrill.errors import LoadError

__all__ = ["PROFILES", "STEADY_MIX", "WRITE_LEDGER_MIX", "Mix", "Profile", "get_profile"]

_HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Mix:
    """What one simulated user does: task weights and think time (s), declared once for the locustfile
    (users.py) and for the controller, which needs the write rate it implies without importing Locust."""

    weights: dict[str, int]
    wait: tuple[float, float]

    def writes_per_user_second(self) -> float:
        """Upper bound of one user's write rate: the write share of tasks over the mean think time
        (response times only lower it)."""
        return self.weights.get("write_item", 0) / sum(self.weights.values()) / (sum(self.wait) / 2)


STEADY_MIX = Mix(weights={"helloworld": 5, "status": 2, "read_item": 3, "list_items": 1, "write_item": 2},
                 wait=(0.5, 1.5))
WRITE_LEDGER_MIX = Mix(weights={"write_item": 4, "read_back": 1}, wait=(0.05, 0.2))


@dataclass(frozen=True)
class Profile:
    """One named load profile: which locustfile runs and which extra parameters it accepts."""

    name: str
    locustfile: Path
    description: str
    parameters: dict[str, str] = field(default_factory=dict)  # name -> help
    writes: bool = False  # acknowledged writes are recorded in the ledger
    mix: Mix | None = None  # what each user does, where the profile has a fixed mix

    def check_parameters(self, given: dict[str, str]) -> None:
        """Raise LoadError naming any parameter this profile does not accept."""
        unknown = sorted(set(given) - set(self.parameters))
        if unknown:
            accepted = ", ".join(sorted(self.parameters)) or "none"
            raise LoadError(f"profile {self.name!r} does not accept parameter(s) {', '.join(unknown)} "
                            f"(accepted: {accepted})")


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            name="steady",
            locustfile=_HERE / "steady.py",
            description="realistic mix with think time: /helloworld, /status, item reads, writes and lists",
            writes=True,
            mix=STEADY_MIX,
        ),
        Profile(
            name="spike",
            locustfile=_HERE / "spike.py",
            description="the steady mix under a shape: baseline, ramp to --users, hold the peak, fall back",
            writes=True,
        ),
        Profile(
            name="write_ledger",
            locustfile=_HERE / "write_ledger.py",
            description="item writes whose acknowledged ids are recorded so that none can be lost unseen",
            writes=True,
            mix=WRITE_LEDGER_MIX,
        ),
        Profile(
            name="bench",
            locustfile=_HERE / "bench.py",
            description="one GET endpoint as fast as possible, no think time (the benchmark's profile)",
            parameters={"path": "the GET path to hammer, e.g. /status"},
        ),
    )
}


def get_profile(name: str) -> Profile:
    """The profile called ``name``; LoadError listing the known ones otherwise."""
    try:
        return PROFILES[name]
    except (KeyError, TypeError):
        raise LoadError(f"unknown load profile {name!r}; choose one of: {', '.join(sorted(PROFILES))}") from None
