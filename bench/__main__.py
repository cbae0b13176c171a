"""`python -m bench <benchmark>`: the project's benchmarks (see bench/README.md)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bench import broadcast, digest, headroom, national, peer


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    commands = parser.add_subparsers(dest="benchmark", required=True)
    broadcast.add_arguments(
        commands.add_parser("broadcast", help="one alert to every group of Phú Thọ (3,135)")
    )
    peer.add_arguments(
        commands.add_parser("peer", help="the same broadcast by stock PTB with AIORateLimiter")
    )
    headroom.add_arguments(
        commands.add_parser(
            "headroom", help="a paid broadcast (1,000 msg/s) against a simulator process"
        )
    )
    digest.add_arguments(
        commands.add_parser("digest", help="a year of figures for Phú Thọ and each commune")
    )
    national.add_arguments(
        commands.add_parser("national", help="a ministry alert to 100,000 groups, paid broadcast")
    )
    args = parser.parse_args(argv)
    if args.benchmark == "broadcast":
        return broadcast.main(args)
    if args.benchmark == "digest":
        return digest.main(args)
    if args.benchmark == "national":
        return national.main(args)
    if args.benchmark == "headroom":
        return headroom.main(args)
    if args.benchmark == "peer":
        return peer.main(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
