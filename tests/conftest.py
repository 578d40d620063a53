"""Shared test set-up: a parsed, empty configuration before any test runs."""
from minova.conf import CONF


def pytest_configure(config):  # noqa: ARG001 - pytest hook signature
    CONF([], project='minova', default_config_files=[])
