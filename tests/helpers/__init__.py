"""Helpers the tests share: configs and CLI runs, records, sweeps, data files, interrupted runs.

Imported by the tests (`from tests.helpers.runs import compose`); `tests/conftest.py` turns the
natural ones into fixtures and rewrites their asserts (pytest.register_assert_rewrite).
"""
