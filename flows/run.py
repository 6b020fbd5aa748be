"""Run one catalog flow for a sync job created elsewhere (the admin API's SubprocessLauncher):

    python -m flows.run discover --job-id 6f1c...  [--base-url http://127.0.0.1:4010/api/v1]

The flow adopts the queued model_sync_jobs row with that id. Exit code 0 when the flow
finished (succeeded or quarantined: both are recorded outcomes), 1 when it failed.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=("discover", "pricing"))
    parser.add_argument("--job-id", required=True, type=uuid.UUID, help="the queued model_sync_jobs id")
    parser.add_argument("--base-url", default=None, help="OpenRouter base URL (default: OPENROUTER_BASE_URL)")
    args = parser.parse_args(argv)

    if args.kind == "discover":
        from flows.discover import discover as flow
    else:
        from flows.pricing import pricing as flow
    try:
        result = flow(job_id=str(args.job_id), base_url=args.base_url)
    except Exception as exc:  # noqa: BLE001 - the flow marked its job failed; say why, exit non-zero
        print(f"{args.kind} flow failed: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
