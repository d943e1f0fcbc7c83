"""Each stage is synthesized once per test session; tests read the recorded resources and never
change them (they edit copies)."""

from __future__ import annotations

import pytest

from emr_platform.config import PlatformConfig, load_config
from tests.infra.key_prefixed import key_prefixed_root
from tests.infra.synth import Synthesis, synthesize


@pytest.fixture(scope="session")
def dev() -> Synthesis:
    return synthesize("dev")


@pytest.fixture(scope="session")
def prod() -> Synthesis:
    return synthesize("prod")


@pytest.fixture(scope="session")
def key_prefixed(tmp_path_factory) -> tuple[PlatformConfig, Synthesis]:
    """prod with its lake, artifacts and logs roots under key prefixes (tests/infra/key_prefixed.py)."""
    root = key_prefixed_root(tmp_path_factory.mktemp("key-prefixed"))
    return load_config("prod", root=root), synthesize("prod", root=root)
