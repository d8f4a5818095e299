"""What every stack sub-command shares: the stack named by the global ``--name``/``--home``."""

from __future__ import annotations

import argparse

from alertdrill.settings import resolve_setting

__all__ = ["native_stack", "positive_float", "stack_timing"]


def native_stack(args: argparse.Namespace, **kwargs):
    """The native stack the global options name (not started)."""
    from alertdrill.stack.backends.native import NativeStack

    return NativeStack(name=args.name, home=args.home, **kwargs)


def positive_float(text: str) -> float:
    """argparse type: a number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be > 0")
    return value




def stack_timing(args: argparse.Namespace):
    """The StackTiming that ``--time-scale``/``--production-timing`` ask for."""
    from alertdrill.stack.rendering import StackTiming

    if args.production_timing:
        return StackTiming.production()
    return StackTiming(time_scale=resolve_setting("time_scale", option=args.time_scale))
