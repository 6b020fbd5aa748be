"""Pydantic request and response models of the proxy's routes, one module per area."""
