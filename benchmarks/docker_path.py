"""Benchmark: what the Docker path costs: the stand-in images cold and cached, and a compose stack's start.

    .venv/bin/python benchmarks/docker_path.py [--cold] [--stacks 3]

``--cold`` first removes the cached base filesystem and the engine's stand-in images, so the build runs
as on a fresh machine (debootstrap, docker import, thin images); without it the figures are the cached
ones. The engine is the one that answers, else alertdrill's private dockerd (started and stopped here).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import time

from alertdrill.stack.backends.compose import ComposeStack
from alertdrill.stack.engine.daemon import provide_engine
from alertdrill.stack.engine.images import base_key, build_images, image_cache_dir
from alertdrill.stack.rendering import StackTiming


def _forget(engine) -> None:
    shutil.rmtree(image_cache_dir() / base_key(), ignore_errors=True)
    client = engine.client(timeout=120)
    try:
        for image in client.images.list(filters={"label": "io.alertdrill.stand-in"}) + \
                client.images.list(name="alertdrill-base"):
            for tag in image.tags:
                client.images.remove(tag, force=True)
    finally:
        client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="build from scratch, as on a fresh machine")
    parser.add_argument("--stacks", type=int, default=1, help="compose stacks to start and stop")
    args = parser.parse_args(argv)
    began = time.monotonic()
    with provide_engine() as engine:
        print(f"engine: {engine.host} ({'private dockerd' if engine.private else 'found'}) "
              f"after {time.monotonic() - began:.1f} s")
        if args.cold:
            _forget(engine)
        began = time.monotonic()
        images = build_images(engine)
        print(f"stand-in images ({'cold' if args.cold else 'cached'}): {time.monotonic() - began:.1f} s")
        began = time.monotonic()
        build_images(engine)
        print(f"stand-in images again (cached): {time.monotonic() - began:.2f} s")
        starts, stops = [], []
        for _ in range(args.stacks):
            stack = ComposeStack(name=f"bench-compose-{os.getpid()}", engine=engine, images=images,
                                 timing=StackTiming(time_scale=60.0), owner_pid=os.getpid())
            began = time.monotonic()
            stack.start()
            starts.append(time.monotonic() - began)
            began = time.monotonic()
            stack.stop()
            stops.append(time.monotonic() - began)
        if starts:
            print(f"compose stack start until healthy: {', '.join(f'{s:.1f}' for s in starts)} s "
                  f"(median {statistics.median(starts):.1f}); down: median {statistics.median(stops):.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
