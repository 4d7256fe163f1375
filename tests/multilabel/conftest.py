"""The multi-label data files, written once per test session."""

from __future__ import annotations

import pytest

from tests.helpers.multilabel import (
    write_image_fixtures,
    write_text_fixtures,
)


@pytest.fixture(scope="session")
def text_files(tmp_path_factory):
    return write_text_fixtures(tmp_path_factory.mktemp("text"))


@pytest.fixture(scope="session")
def image_files(tmp_path_factory):
    return write_image_fixtures(tmp_path_factory.mktemp("images"))
