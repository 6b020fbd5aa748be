"""Serve every deployment of deployments/prefect.yaml from this process (what `minerva up`
runs): the flows run on their cron schedules, visible in the Prefect UI, without a worker."""

from __future__ import annotations

import argparse
import importlib

from prefect import serve

from deployments.schedules import deployment_specs


def load_flow(entrypoint: str):
    path, _, name = entrypoint.partition(":")
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    return getattr(module, name)


def build_deployments(only: list[str] | None = None):
    deployments = []
    for spec in deployment_specs():
        if only and spec["name"] not in only:
            continue
        flow = load_flow(spec["entrypoint"])
        deployments.append(
            flow.to_deployment(
                name=spec["name"], cron=spec["cron"], description=spec["description"], tags=spec["tags"]
            )
        )
    return deployments


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", action="append", help="serve only these deployments")
    args = parser.parse_args()
    serve(*build_deployments(args.only), print_starting_message=True)


if __name__ == "__main__":
    main()
