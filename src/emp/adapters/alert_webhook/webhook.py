"""AlertWebhookKillSignal: implements KillSignalPort with an Alertmanager webhook receiver.

A stdlib ``ThreadingHTTPServer`` bound to loopback accepts Alertmanager's webhook POSTs
(``{"alerts": [{"status": "firing"|"resolved", "labels": {...}, ...}], ...}``). A firing
alert whose labels match every configured matcher (default ``emp_action="kill"``) is a
kill request whose reason names the alert; a resolved one withdraws it. The HTTP thread
only parses, validates and records under a lock; the run polls :meth:`poll` between
events (like the kill file) and does the domain work itself.

* Level-triggered like the kill file: while a matching alert fires, ``poll`` returns
  its reason. Latched as well: an alert that fires and resolves between two polls is
  still reported once, so a short flap is never lost.
* A body that is not JSON, or not an Alertmanager payload, is answered 400 with the
  reason and changes nothing (the whole body is validated before any alert is taken).
  Another path is 404; a GET on the path is 405.

Not an exception to the FIX-only rule: it listens on loopback for the local
Alertmanager, speaks to no broker and imports no HTTP client library.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from emp.domain.errors import EmpError

#: The label set a firing alert must carry to halt trading, unless configured otherwise.
DEFAULT_MATCHERS: Mapping[str, str] = {"emp_action": "kill"}
#: Larger bodies are refused (413): Alertmanager groups are a few KiB.
MAX_BODY_BYTES = 1 << 20


class AlertWebhookError(EmpError):
    """The webhook receiver could not start (port taken, bad configuration)."""


class _PayloadError(ValueError):
    """The body is not an Alertmanager webhook payload; the message says why."""


def parse_label_matchers(text: str) -> dict[str, str]:
    """``'emp_action=kill,severity=page'`` → ``{"emp_action": "kill", "severity": "page"}``."""
    matchers: dict[str, str] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, value = part.partition("=")
        name, value = name.strip(), value.strip().strip('"')
        if not sep or not name or not value:
            raise ValueError(f"expected a label matcher NAME=VALUE, was {part!r}")
        matchers[name] = value
    if not matchers:
        raise ValueError(f"expected at least one label matcher NAME=VALUE, was {text!r}")
    return matchers


def _alerts(body: bytes) -> list[tuple[str, str, dict[str, str]]]:
    """Validate a webhook body; ``(status, key, labels)`` per alert."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError) as error:
        raise _PayloadError(f"expected a JSON body, was not JSON ({error})") from None
    if not isinstance(payload, dict):
        raise _PayloadError(f"expected a JSON object, was {type(payload).__name__}")
    alerts = payload.get("alerts")
    if not isinstance(alerts, list):
        raise _PayloadError(f"expected 'alerts' to be a list, was {type(alerts).__name__}")
    found = []
    for i, alert in enumerate(alerts):
        if not isinstance(alert, dict):
            raise _PayloadError(f"expected alerts[{i}] to be an object")
        status = alert.get("status")
        if status not in ("firing", "resolved"):
            raise _PayloadError(
                f"expected alerts[{i}].status 'firing' or 'resolved', was {status!r}"
            )
        labels = alert.get("labels")
        if not isinstance(labels, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in labels.items()
        ):
            raise _PayloadError(f"expected alerts[{i}].labels to map strings to strings")
        fingerprint = alert.get("fingerprint")
        key = (
            fingerprint
            if isinstance(fingerprint, str) and fingerprint
            else json.dumps(labels, sort_keys=True)
        )
        found.append((status, key, labels))
    return found


class AlertWebhookKillSignal:
    """Receives Alertmanager webhooks on ``host:port`` ``path``; implements KillSignalPort.

    Args:
        port: the TCP port (0: any free one; read :attr:`port` after :meth:`start`).
        host: the address to bind, loopback unless you mean otherwise.
        path: the URL path Alertmanager posts to (its ``webhook_configs.url``).
        matchers: label → value that a firing alert must all carry to halt trading.

    Nothing listens until :meth:`start`; :meth:`close` (or leaving a ``with`` block) stops.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        path: str = "/alerts",
        matchers: Mapping[str, str] | None = None,
    ) -> None:
        if not 0 <= port <= 65535:
            raise AlertWebhookError(f"expected a TCP port in 0..65535, was {port}")
        if not path.startswith("/"):
            raise AlertWebhookError(f"expected the webhook path to start with '/', was {path!r}")
        self._host = host
        self._requested_port = port
        self.path = path
        self.matchers: dict[str, str] = dict(DEFAULT_MATCHERS if matchers is None else matchers)
        if not self.matchers:
            raise AlertWebhookError("expected at least one label matcher, was none")
        self._lock = threading.Lock()
        self._active: dict[str, str] = {}  # alert key → reason, while firing
        self._latched: list[str] = []  # fired and not yet seen by poll
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ life
    def start(self) -> AlertWebhookKillSignal:
        if self._server is not None:
            return self
        handler = _handler_for(self)
        try:
            server = ThreadingHTTPServer((self._host, self._requested_port), handler)
        except OSError as error:
            raise AlertWebhookError(
                f"cannot listen on {self._host}:{self._requested_port}: {error.strerror or error}"
            ) from error
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},  # how soon close() is noticed
            name="emp-alert-webhook",
            daemon=True,
        )
        self._thread.start()
        return self

    def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> AlertWebhookKillSignal:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def port(self) -> int:
        """The bound port (the requested one before :meth:`start`)."""
        if self._server is None:
            return self._requested_port
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}{self.path}"

    # ------------------------------------------------------------------ port
    def poll(self) -> str | None:
        """The reason of a matching firing alert, if one fires or fired since the last poll."""
        with self._lock:
            reasons = set(self._active.values()) | set(self._latched)
            self._latched.clear()
        return "; ".join(sorted(reasons)) if reasons else None

    # --------------------------------------------------------------- receive
    def receive(self, body: bytes) -> int:
        """Take one webhook body (the HTTP thread calls this); matching firing alerts.

        Raises ``ValueError`` with the reason, changing nothing, when the body is not an
        Alertmanager payload.
        """
        alerts = _alerts(body)
        fired = 0
        with self._lock:
            for status, key, labels in alerts:
                if not all(labels.get(k) == v for k, v in self.matchers.items()):
                    continue
                if status == "resolved":
                    self._active.pop(key, None)
                    continue
                name = labels.get("alertname", "unnamed alert")
                reason = f"metrics alert {name}"
                self._active[key] = reason
                self._latched.append(reason)
                fired += 1
        return fired


def _handler_for(signal: AlertWebhookKillSignal) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "emp-alert-webhook"

        def log_message(self, format: str, *args: Any) -> None:
            return  # the run's own logs say what happened; no stderr noise per request

        def _answer(self, status: HTTPStatus, text: str) -> None:
            body = (text + "\n").encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            if urlsplit(self.path).path != signal.path:
                self._answer(HTTPStatus.NOT_FOUND, f"no such path {self.path!r}")
                return
            length = self.headers.get("Content-Length")
            if length is None or not length.isdigit():
                self._answer(HTTPStatus.LENGTH_REQUIRED, "expected a Content-Length header")
                return
            if int(length) > MAX_BODY_BYTES:
                self._answer(
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                    f"expected at most {MAX_BODY_BYTES} bytes, was {length}",
                )
                return
            body = self.rfile.read(int(length))
            try:
                fired = signal.receive(body)
            except _PayloadError as error:
                self._answer(HTTPStatus.BAD_REQUEST, str(error))
                return
            self._answer(HTTPStatus.OK, f"ok, {fired} kill request(s)")

        def do_GET(self) -> None:
            if urlsplit(self.path).path != signal.path:
                self._answer(HTTPStatus.NOT_FOUND, f"no such path {self.path!r}")
                return
            self._answer(HTTPStatus.METHOD_NOT_ALLOWED, "expected POST")

    return Handler
