"""``alertdrill faults``: every fault kind a catalogue may name, with its parameters and defaults."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["cmd_faults", "register"]


def register(subparsers: Any) -> None:
    faults = subparsers.add_parser("faults", help="list the fault kinds a catalogue can use, with their parameters")
    faults.set_defaults(func=cmd_faults)


def cmd_faults(args: argparse.Namespace) -> int:
    from alertdrill.chaos import fault_class, kinds

    for kind in kinds():
        cls = fault_class(kind)
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        print(f"{kind}: {doc}")
        for name, param in cls.spec().items():
            bounds = ""
            if param.choices:
                bounds = f" one of {', '.join(param.choices)}"
            elif param.low is not None or param.high is not None:
                low = "-inf" if param.low is None else f"{param.low:g}"
                high = "inf" if param.high is None else f"{param.high:g}"
                bounds = f" in {'[' if param.low_inclusive else '('}{low}..{high}]"
            print(f"    {param.describe(name)}{bounds}{'  ' + param.help if param.help else ''}")
    return 0
