"""``pulumi up --stack <stage>``: the stage's AWS account from config.yml + stages/<stage>.yml."""

import sys
from pathlib import Path

# The CLI runs this file from infra/; the program imports `infra.*` and `emr_platform.*` from the repository.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pulumi  # noqa: E402

from emr_platform.config import load_config  # noqa: E402
from infra.program import main  # noqa: E402

main(load_config(stage=pulumi.get_stack()))
