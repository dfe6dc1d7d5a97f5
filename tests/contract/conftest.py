"""Fixtures of the contract suite: the world on a live Public API instance, and each backend in turn."""

from __future__ import annotations

import pytest

from cases.backend.embedded import EmbeddedBackend
from cases.backend.upstream import UpstreamBackend
from cases.backend.upstream_client import UpstreamConfig, release
from tests.contract.world import World


@pytest.fixture
def w(public_api_url) -> World:
    world = World()
    world.url = public_api_url
    return world


@pytest.fixture(params=["embedded", "upstream"])
def backend(request, w):
    if request.param == "embedded":
        yield EmbeddedBackend()
        return
    config = UpstreamConfig(url=w.url, api_key=w.key, timeout=10, max_retries=1)
    yield UpstreamBackend(config)
    release(config)
