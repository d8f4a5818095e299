"""Record a live drill as a promtool test, and replay it without a stack.

A nightly chaos run proves an alert fires and resolves on the real stack; a recording keeps what it
saw (the tested rule, its input series down-sampled to the evaluation interval, and when ALERTS
showed it firing) as a ``promtool test rules`` file, so fast CI re-checks that observation in
milliseconds. :mod:`.record` captures, :mod:`.promtest` writes the files, :mod:`.verify` replays.
"""

from __future__ import annotations

from .current import current_rule_file
from .record import record_drill
from .verify import Replay, ReplayError, find_test_files, replay, retarget

__all__ = ["Replay", "ReplayError", "current_rule_file", "find_test_files",
           "record_drill", "replay", "retarget"]
