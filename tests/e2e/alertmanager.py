"""An Alertmanager stand-in for the e2e tests: one firing kill alert POSTed on loopback."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post_kill_alert(port: int, deadline_s: float = 30.0) -> None:
    """POST one firing Alertmanager alert labelled emp_action=kill, once the hook listens."""
    body = json.dumps(
        {
            "alerts": [
                {"status": "firing", "labels": {"alertname": "EquityDrop", "emp_action": "kill"}}
            ]
        }
    ).encode()
    deadline = time.monotonic() + deadline_s
    while True:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/alerts", data=body, method="POST",
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                assert response.status == 200
                return
        except (ConnectionRefusedError, urllib.error.URLError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
