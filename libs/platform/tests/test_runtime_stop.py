"""A stopping service never hangs on one step: it logs the step and goes on."""

import asyncio
import logging

import pytest

from acms_platform import runtime


@pytest.mark.asyncio
async def test_a_step_that_never_finishes_is_logged_and_left_behind(monkeypatch, caplog):
    monkeypatch.setattr(runtime, "STOP_STEP_SECONDS", 0.05)
    never = asyncio.get_running_loop().create_future()
    with caplog.at_level(logging.WARNING, logger=runtime.__name__):
        await asyncio.wait_for(runtime._bounded("the Kafka broker", never), 2)
    assert never.cancelled()
    assert "the Kafka broker did not stop within 0.05s" in caplog.text


@pytest.mark.asyncio
async def test_a_step_that_finishes_is_awaited_whole(monkeypatch, caplog):
    monkeypatch.setattr(runtime, "STOP_STEP_SECONDS", 1.0)
    done = []

    async def step() -> None:
        await asyncio.sleep(0.01)
        done.append(True)

    await runtime._bounded("the database pool", step())
    assert done == [True]
    assert "did not stop" not in caplog.text
