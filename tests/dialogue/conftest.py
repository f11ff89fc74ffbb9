"""Fixtures of the dialogue tests that run the trained model."""
from __future__ import annotations

import asyncio

import pytest

from channels import model_load
from tests.conftest import trained_model


@pytest.fixture(scope="module")
def processor():
    """The newest model's message processor, loaded as the server loads it (serving only)."""
    from rasa.core.agent import load_agent

    model_load.install()
    try:
        agent = asyncio.run(load_agent(model_path=str(trained_model())))
    finally:
        model_load.uninstall()
    return agent.processor
