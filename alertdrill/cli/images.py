"""``alertdrill images build``: the compose stack's local stand-in images, from Debian packages."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["cmd_images_build", "register"]


def register(subparsers: Any) -> None:
    images = subparsers.add_parser("images", help="the compose backend's images")
    actions = images.add_subparsers(dest="images_command", required=True)
    build = actions.add_parser(
        "build", help="build local stand-ins for docker-compose.yml's images from Debian packages (no registry); "
                      "cached, so a second run takes seconds")
    build.set_defaults(func=cmd_images_build)


def cmd_images_build(args: argparse.Namespace) -> int:
    from alertdrill.stack.engine.daemon import provide_engine
    from alertdrill.stack.engine.images import build_images, image_variable

    with provide_engine() as engine:
        images = build_images(engine)
        where = f"alertdrill's private engine ({engine.host})" if engine.private else engine.host
        print(f"stand-in images ready in {where} after {images.build_seconds:g}s:")
        for service, tag in images.images.items():
            print(f"  {image_variable(service)}={tag}")
    return 0
