"""`python -m minerva_core.emulator --port N ...`: the emulator without the `minerva` CLI.

Prints `MINERVA_EMULATOR_READY <base_url>` on stdout once it accepts requests (port 0 picks
a free port), which is what tests/support/emulator.py waits for.
"""

from __future__ import annotations

import argparse
from decimal import Decimal
from pathlib import Path

from minerva_core.emulator.config import EmulatorConfig, parse_fault_rule
from minerva_core.emulator.server import serve


def parse_args(argv: list[str] | None = None) -> EmulatorConfig:
    parser = argparse.ArgumentParser(prog="python -m minerva_core.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4010, help="0 picks a free port")
    parser.add_argument("--snapshot", type=Path, default=None, help="a /models snapshot file")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ttft-ms", type=int, default=0)
    parser.add_argument("--token-ms", type=int, default=0)
    parser.add_argument("--require-key", default=None)
    parser.add_argument("--generation-delay-ms", type=int, default=500)
    parser.add_argument("--no-padding", action="store_true", help="no whitespace / PROCESSING keep-alives")
    parser.add_argument("--keepalive-ms", type=int, default=1000)
    parser.add_argument("--drip-ms", type=int, default=250)
    parser.add_argument("--retry-after-s", type=int, default=1)
    parser.add_argument("--total-credits", type=Decimal, default=Decimal(100))
    parser.add_argument("--fill-required", action="store_true",
                        help="add spec-required model keys that older snapshots lack")
    parser.add_argument("--no-prompt-cache", action="store_true")
    parser.add_argument("--fault", action="append", default=[], metavar="TARGET=KIND[:COUNT]",
                        help="arm a fault at start, e.g. openai/gpt-4o=429:2 or /models=503")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    try:
        return EmulatorConfig(
            host=args.host, port=args.port, snapshot=args.snapshot, seed=args.seed,
            ttft_ms=args.ttft_ms, token_ms=args.token_ms, require_key=args.require_key,
            generation_delay_ms=args.generation_delay_ms, padding=not args.no_padding,
            keepalive_ms=args.keepalive_ms, drip_ms=args.drip_ms, retry_after_s=args.retry_after_s,
            total_credits=args.total_credits, fill_required=args.fill_required,
            prompt_cache=not args.no_prompt_cache,
            faults=tuple(parse_fault_rule(f) for f in args.fault), log_level=args.log_level,
        )
    except ValueError as exc:
        parser.error(str(exc))


def main(argv: list[str] | None = None) -> None:
    serve(parse_args(argv))


if __name__ == "__main__":
    main()
