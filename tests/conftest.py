"""Shared test fixtures."""

from pathlib import Path

import pytest
import yaml

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def ramulator_reference():
    return yaml.safe_load((DATA / "ramulator2_hbm.yaml").read_text())
