"""Helpers for the shared checks."""

import contextlib

import pytest


@pytest.fixture
def as_root(host):
    """A context for commands that need root: sudo, unless the connection already is root."""
    return contextlib.nullcontext if host.user().name == 'root' else host.sudo
