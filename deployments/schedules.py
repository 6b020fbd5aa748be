"""The schedules of deployments/prefect.yaml as data, for `minerva up` (flow.serve) and tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

PREFECT_YAML = Path(__file__).with_name("prefect.yaml")


def deployment_specs(path: Path = PREFECT_YAML) -> list[dict[str, Any]]:
    """name, entrypoint, cron and description of every deployment in prefect.yaml."""
    spec = yaml.safe_load(path.read_text())
    out = []
    for deployment in spec["deployments"]:
        out.append(
            {
                "name": deployment["name"],
                "entrypoint": deployment["entrypoint"],
                "cron": deployment["schedules"][0]["cron"],
                "description": deployment.get("description", ""),
                "tags": deployment.get("tags", []),
            }
        )
    return out
