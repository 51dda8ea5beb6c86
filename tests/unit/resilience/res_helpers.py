"""Helpers shared by the resilience tests (a uniquely named module, not ``conftest``,
so imports never resolve to another directory's conftest)."""

from __future__ import annotations

import uuid

from prometheus_client import REGISTRY


def metric(name: str, **labels: str) -> float:
    """Current value of one sample in the default registry (0 if never set)."""
    value = REGISTRY.get_sample_value(name, labels)
    return 0.0 if value is None else value


def unique(stem: str) -> str:
    return f"{stem}-{uuid.uuid4().hex[:8]}"
