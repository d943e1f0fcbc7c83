"""Each stage is synthesized once per test module (about 1 s for dev, 2.5 s for prod)."""

from __future__ import annotations

import pytest

from tests.infra.synth import Synthesis, synthesize


@pytest.fixture(scope="module")
def dev() -> Synthesis:
    return synthesize("dev")


@pytest.fixture(scope="module")
def prod() -> Synthesis:
    return synthesize("prod")
