"""The built-in OpenRouter emulator: a real HTTP server answering like OpenRouter does.

Under /api/v1: GET models (a real snapshot; text-output models unless `output_modalities`),
models/count, models/{author}/{slug}/endpoints, POST chat/completions (stream or not;
deterministic replies; `usage.cost` exact from the snapshot's prices), GET generation,
activity, key, credits. Any bearer key is accepted unless `require_key` is set.

Controls, per request (headers) or per target (admin paths, `--fault TARGET=KIND[:COUNT]`):

    X-Emulator-Fault: 429 | 500 | 502 | 503 | context_length | hang | reset | midstream
                      | malformed | drip            (any /api/v1 route; no fallback)
    X-Emulator-Ttft-Ms / X-Emulator-Token-Ms        latency of this request
    X-Emulator-Completion-Tokens                    reply length (still bounded by max_tokens)
    POST/GET/DELETE /__emulator/faults, POST /__emulator/reset, GET /__emulator/health

A fault armed for a model fails its chat requests `count` times; a request with `models[]`
falls through to the next model, as on OpenRouter.

    app = create_app(EmulatorConfig(seed=7))      # an ASGI app
    serve(EmulatorConfig(port=0))                 # or run it: python -m minerva_core.emulator
"""

from minerva_core.emulator.app import create_app
from minerva_core.emulator.config import EmulatorConfig, FaultRule, parse_fault_rule
from minerva_core.emulator.server import serve

__all__ = ["EmulatorConfig", "FaultRule", "create_app", "parse_fault_rule", "serve"]
