"""The metrics-alert kill trigger: Alertmanager webhooks over real loopback HTTP."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from emp.adapters.alert_webhook import (
    AlertWebhookError,
    AlertWebhookKillSignal,
    parse_label_matchers,
)
from emp.ports.kill_signal import KillSignalPort


def alert(status: str, name: str = "EquityDrop", **labels: str) -> dict:
    return {
        "status": status,
        "labels": {"alertname": name, "emp_action": "kill", **labels},
        "annotations": {"summary": "equity fell"},
        "fingerprint": f"fp-{name}",
    }


def payload(*alerts: dict) -> bytes:
    return json.dumps(
        {"version": "4", "status": "firing", "receiver": "emp", "alerts": list(alerts)}
    ).encode()


def post(url: str, body: bytes) -> tuple[int, str]:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture
def hook() -> Iterator[AlertWebhookKillSignal]:
    with AlertWebhookKillSignal(port=0) as signal:
        yield signal


class TestFiringAlerts:
    def test_a_matching_firing_alert_requests_a_kill_named_after_the_alert(self, hook) -> None:
        assert isinstance(hook, KillSignalPort)
        assert hook.poll() is None
        status, text = post(hook.url, payload(alert("firing")))
        assert status == 200 and "1 kill request" in text
        assert hook.poll() == "metrics alert EquityDrop"

    def test_the_request_stands_while_the_alert_fires_and_ends_when_it_resolves(self, hook) -> None:
        post(hook.url, payload(alert("firing")))
        assert hook.poll() == "metrics alert EquityDrop"
        assert hook.poll() == "metrics alert EquityDrop"  # level-triggered, like the file
        post(hook.url, payload(alert("resolved")))
        assert hook.poll() is None

    def test_an_alert_that_fires_and_resolves_between_polls_is_still_seen_once(self, hook) -> None:
        post(hook.url, payload(alert("firing")))
        post(hook.url, payload(alert("resolved")))
        assert hook.poll() == "metrics alert EquityDrop"
        assert hook.poll() is None

    def test_alerts_without_the_matching_labels_never_trigger(self, hook) -> None:
        other = {"status": "firing", "labels": {"alertname": "DiskFull", "emp_action": "page"}}
        status, text = post(hook.url, payload(other))
        assert status == 200 and "0 kill request" in text
        assert hook.poll() is None

    def test_configured_matchers_must_all_match(self) -> None:
        matchers = parse_label_matchers('emp_action="kill", severity=page')
        with AlertWebhookKillSignal(matchers=matchers) as hook:
            post(hook.url, payload(alert("firing")))
            assert hook.poll() is None
            post(hook.url, payload(alert("firing", name="VaRBreach", severity="page")))
            assert hook.poll() == "metrics alert VaRBreach"

    def test_several_firing_alerts_are_all_named(self, hook) -> None:
        post(hook.url, payload(alert("firing"), alert("firing", name="VaRBreach")))
        assert hook.poll() == "metrics alert EquityDrop; metrics alert VaRBreach"


class TestResolvedAlerts:
    def test_a_resolved_alert_alone_never_triggers(self, hook) -> None:
        status, _ = post(hook.url, payload(alert("resolved")))
        assert status == 200
        assert hook.poll() is None


class TestBadRequests:
    @pytest.mark.parametrize(
        ("body", "reason"),
        [
            (b"{not json", "expected a JSON body"),
            (b"[1, 2]", "expected a JSON object, was list"),
            (b'{"alerts": "x"}', "expected 'alerts' to be a list"),
            (b'{"alerts": [{"status": "maybe", "labels": {}}]}', "status 'firing' or 'resolved'"),
            (b'{"alerts": [{"status": "firing", "labels": {"a": 1}}]}', "labels to map strings"),
        ],
    )
    def test_a_bad_body_is_a_400_with_the_reason_and_triggers_nothing(
        self, hook, body: bytes, reason: str
    ) -> None:
        status, text = post(hook.url, body)
        assert status == 400
        assert reason in text
        assert hook.poll() is None

    def test_a_bad_alert_after_a_good_one_rejects_the_whole_body(self, hook) -> None:
        body = payload(alert("firing"), {"status": "firing", "labels": None})
        status, _ = post(hook.url, body)
        assert status == 400
        assert hook.poll() is None

    def test_another_path_is_a_404(self, hook) -> None:
        status, _ = post(hook.url.replace("/alerts", "/other"), payload(alert("firing")))
        assert status == 404
        assert hook.poll() is None

    def test_a_get_on_the_path_is_refused(self, hook) -> None:
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(hook.url, timeout=5)
        assert error.value.code == 405


class TestLifecycle:
    def test_nothing_listens_before_start_and_after_close(self) -> None:
        signal = AlertWebhookKillSignal(port=0)
        assert signal.poll() is None
        signal.start()
        url = signal.url
        assert post(url, payload(alert("firing")))[0] == 200
        signal.close()
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(
                urllib.request.Request(url, data=b"{}", method="POST"), timeout=2
            )
        assert signal.poll() == "metrics alert EquityDrop"  # what was received stays

    def test_a_taken_port_is_a_named_error(self, hook) -> None:
        with pytest.raises(AlertWebhookError, match="cannot listen on 127.0.0.1"):
            AlertWebhookKillSignal(port=hook.port).start()

    @pytest.mark.parametrize("text", ["", "novalue=", "=x", "plain"])
    def test_bad_matchers_are_refused(self, text: str) -> None:
        with pytest.raises(ValueError, match="label matcher"):
            parse_label_matchers(text)

    def test_concurrent_posts_and_polls_lose_no_request(self, hook) -> None:
        seen: list[str] = []
        stop = threading.Event()

        def poller() -> None:
            while not stop.is_set():
                reason = hook.poll()
                if reason is not None:
                    seen.append(reason)

        thread = threading.Thread(target=poller)
        thread.start()
        for i in range(20):
            post(hook.url, payload(alert("firing", name=f"A{i}")))
            post(hook.url, payload(alert("resolved", name=f"A{i}")))
        stop.set()
        thread.join()
        reason = hook.poll()
        if reason is not None:
            seen.append(reason)
        named = {part for text in seen for part in text.split("; ")}
        assert named == {f"metrics alert A{i}" for i in range(20)}
