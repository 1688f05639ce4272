"""The agency simulator: a small real HTTP server standing in for the agencies' endpoints
(Immigration, MSD, Oranga Tamariki, Police) in tests and the demo.

It receives information requests (`POST /<agency>`), recognises a repeat by its
`Idempotency-Key` (answered 200 again, processed once), and answers each new request
through the partner API with that agency's client-credential token, as an agency would:

    python -m acms_integrations.simulator --port 8190 \
        --integrations-url http://127.0.0.1:8104 --identity-url http://127.0.0.1:8101 \
        --client msd=<client_id>:<client_secret> --token police=<access token>

An agency with neither a client nor a token only receives. The answers are fake (a
"Demo Town" address). Tests steer it: `POST /_control/<agency>` with
`{"mode": "up" | "down" | "slow", "delay_seconds": 2}` (down: 503 to every request;
slow: take the request, then wait before acknowledging it), and read what it received:
`GET /_received`.
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

log = logging.getLogger("agency-simulator")

AGENCIES = ("immigration", "msd", "oranga_tamariki", "police")
ANSWER_ATTEMPTS = 30
TOKEN_REUSE_SECONDS = 240  # identity's access tokens live 5 minutes


@dataclass
class AgencyState:
    mode: str = "up"
    delay_seconds: float = 0.0
    client: tuple[str, str] | None = None  # client-credential id and secret
    token: str | None = None  # a fixed access token (tests)
    issued: tuple[str, float] | None = None  # a client-credential token and when it was got
    received: dict[str, dict[str, Any]] = field(default_factory=dict)


class Simulator:
    def __init__(self, integrations_url: str, identity_url: str) -> None:
        self.integrations_url = integrations_url.rstrip("/")
        self.identity_url = identity_url.rstrip("/")
        self.agencies = {name: AgencyState() for name in AGENCIES}
        self.lock = threading.Lock()

    def receive(self, agency: str, key: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        state = self.agencies[agency]
        if state.mode == "down":
            return 503, {"detail": f"{agency} is down (simulated)"}
        with self.lock:
            seen = state.received.get(key)
            if seen is not None:
                seen["deliveries"] += 1
            else:
                state.received[key] = {"body": body, "deliveries": 1, "answered": False}
        if state.mode == "slow":
            # Taken, not yet acknowledged: a sender killed now has sent it without knowing.
            time.sleep(state.delay_seconds)
        if seen is not None:
            return 200, {"status": "already received", "idempotency_key": key}
        if state.client or state.token:
            threading.Thread(target=self.answer, args=(agency, key, body), daemon=True).start()
        return 200, {"status": "received", "idempotency_key": key}

    def access_token(self, state: AgencyState) -> str:
        if state.token:
            return state.token
        assert state.client is not None
        with self.lock:
            if state.issued and time.monotonic() - state.issued[1] < TOKEN_REUSE_SECONDS:
                return state.issued[0]
        client_id, secret = state.client
        response = httpx.post(
            f"{self.identity_url}/token/client",
            json={"client_id": client_id, "client_secret": secret},
            timeout=10,
        )
        response.raise_for_status()
        token = str(response.json()["access_token"])
        with self.lock:
            state.issued = (token, time.monotonic())
        return token

    def answer(self, agency: str, key: str, body: dict[str, Any]) -> None:
        """Answer through the partner API; retried while the request is not yet shown as
        delivered there (its acknowledgement commits after this server replied)."""
        state = self.agencies[agency]
        answer = {
            "found": True,
            "location": {
                "address": f"{len(key) % 90 + 1} Example Street, Demo Town (fake, {agency})",
                "as_at": date.today().isoformat(),
            },
            "note": "simulated answer",
        }
        wait = 0.2
        for _ in range(ANSWER_ATTEMPTS):
            time.sleep(wait)
            try:
                token = self.access_token(state)
                response = httpx.post(
                    f"{self.integrations_url}{body['answer_path']}",
                    json=answer,
                    headers={"authorization": f"Bearer {token}"},
                    timeout=10,
                )
            except httpx.HTTPError as error:
                log.warning("%s: answering %s failed: %s", agency, key, error)
            else:
                if response.status_code in (200, 409):
                    with self.lock:
                        state.received[key]["answered"] = True
                    return
                log.info("%s: answer to %s: %s", agency, key, response.status_code)
            wait = min(wait * 2, 5.0)


def handler_for(simulator: Simulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            log.debug(format, *args)

        def _reply(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> Any:
            length = int(self.headers.get("content-length") or 0)
            return json.loads(self.rfile.read(length) or b"{}")

        def do_GET(self) -> None:
            if self.path == "/_received":
                with simulator.lock:
                    received = {a: s.received for a, s in simulator.agencies.items()}
                    self._reply(200, json.loads(json.dumps(received)))
            elif self.path == "/healthz":
                self._reply(200, {"status": "ok"})
            else:
                self._reply(404, {"detail": "not found"})

        def do_POST(self) -> None:
            parts = self.path.strip("/").split("/")
            try:
                body = self._body()
            except ValueError:
                self._reply(400, {"detail": "body is not JSON"})
                return
            if len(parts) == 2 and parts[0] == "_control" and parts[1] in simulator.agencies:
                state = simulator.agencies[parts[1]]
                state.mode = str(body.get("mode", "up"))
                state.delay_seconds = float(body.get("delay_seconds", 0))
                self._reply(200, {"mode": state.mode})
            elif len(parts) == 1 and parts[0] in simulator.agencies:
                key = self.headers.get("idempotency-key")
                if not key:
                    self._reply(400, {"detail": "Idempotency-Key header required"})
                    return
                self._reply(*simulator.receive(parts[0], key, body))
            else:
                self._reply(404, {"detail": "not found"})

    return Handler


def _pairs(values: list[str]) -> dict[str, str]:
    pairs = {}
    for value in values:
        agency, _, rest = value.partition("=")
        if agency not in AGENCIES or not rest:
            raise SystemExit(f"expected <agency>=<value> with agency one of {AGENCIES}: {value!r}")
        pairs[agency] = rest
    return pairs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8190)
    parser.add_argument("--integrations-url", default="http://127.0.0.1:8104")
    parser.add_argument("--identity-url", default="http://127.0.0.1:8101")
    parser.add_argument("--client", action="append", default=[], help="agency=id:secret")
    parser.add_argument("--token", action="append", default=[], help="agency=access-token")
    parser.add_argument("--credentials-file", help="JSON {agency: {client_id, client_secret}}")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s agency-simulator %(message)s")
    simulator = Simulator(args.integrations_url, args.identity_url)
    clients = {a: tuple(v.split(":", 1)) for a, v in _pairs(args.client).items()}
    if args.credentials_file:
        with open(args.credentials_file) as file:
            for agency, entry in json.load(file).items():
                clients[agency] = (entry["client_id"], entry["client_secret"])
    for agency, client in clients.items():
        simulator.agencies[agency].client = client  # type: ignore[assignment]
    for agency, token in _pairs(args.token).items():
        simulator.agencies[agency].token = token
    server = ThreadingHTTPServer((args.host, args.port), handler_for(simulator))
    log.info("listening on %s:%d", args.host, args.port)
    server.serve_forever()


if __name__ == "__main__":
    main()
