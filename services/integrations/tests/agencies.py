"""Helpers of the agency-request and consent tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any
from uuid import UUID

import httpx

from .conftest import SIMULATOR_URL, World

MSD_FIELDS = {"full_name": "Aroha Test-Student", "date_of_birth": "2012-04-01"}


async def new_request(
    world: World,
    case_id: UUID,
    agency: str = "msd",
    fields: dict | None = None,
    who: str = "investigator",
) -> httpx.Response:
    return await world.client.post(
        "/information-requests",
        json={
            "agency": agency,
            "case_id": str(case_id),
            "subject": "student",
            "fields": fields or MSD_FIELDS,
        },
        headers=world.as_(who),
    )


async def request_as_ci(world: World, request_id: str) -> dict[str, Any]:
    response = await world.client.get(
        f"/information-requests/{request_id}", headers=world.as_("investigator")
    )
    assert response.status_code == 200, response.text
    return response.json()


async def wait_for(
    world: World, request_id: str, done: Callable[[dict[str, Any]], bool], timeout: float = 30
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    seen: dict[str, Any] = {}
    while time.monotonic() < deadline:
        seen = await request_as_ci(world, request_id)
        if done(seen):
            return seen
        await asyncio.sleep(0.1)
    raise AssertionError(f"request {request_id} never got there: {seen}")


async def control(agency: str, mode: str, delay_seconds: float = 0) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{SIMULATOR_URL}/_control/{agency}",
            json={"mode": mode, "delay_seconds": delay_seconds},
        )
        assert response.status_code == 200


async def received(agency: str) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        return (await client.get(f"{SIMULATOR_URL}/_received")).json()[agency]


async def disclosures(world: World, **params: Any) -> list[dict[str, Any]]:
    response = await world.client.get("/disclosures", params=params, headers=world.as_("privacy"))
    assert response.status_code == 200, response.text
    return response.json()["disclosures"]
