"""Each stage is synthesized once per test session (about 1 s for dev, 2.5 s for prod on an idle
machine); tests read the recorded resources and never change them (they edit copies)."""

from __future__ import annotations

import pytest

from tests.infra.synth import Synthesis, synthesize


@pytest.fixture(scope="session")
def dev() -> Synthesis:
    return synthesize("dev")


@pytest.fixture(scope="session")
def prod() -> Synthesis:
    return synthesize("prod")
