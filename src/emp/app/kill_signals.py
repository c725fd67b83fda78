"""What runs poll for a halt: the kill file, and the Alertmanager webhook when configured."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from emp.adapters.alert_webhook import (
    AlertWebhookError,
    AlertWebhookKillSignal,
    parse_label_matchers,
)
from emp.app.errors import ConfigError
from emp.app.settings import EmpSettings
from emp.ports.kill_signal import KillSignalPort


class AnyKillSignal:
    """KillSignalPort over several signals: the reasons of every one that asks for a halt."""

    def __init__(self, *signals: KillSignalPort) -> None:
        self._signals = signals

    def poll(self) -> str | None:
        reasons = [reason for s in self._signals if (reason := s.poll()) is not None]
        return "; ".join(reasons) if reasons else None


@contextmanager
def run_kill_signal(settings: EmpSettings, kill_file: KillSignalPort) -> Iterator[KillSignalPort]:
    """The kill file, plus the alert webhook listening for the run's duration when
    EMP_KILL_WEBHOOK_PORT is set."""
    if settings.kill_webhook_port is None:
        yield kill_file
        return
    hook = AlertWebhookKillSignal(
        port=settings.kill_webhook_port,
        path=settings.kill_webhook_path,
        matchers=parse_label_matchers(settings.kill_webhook_matchers),
    )
    try:
        hook.start()
    except AlertWebhookError as error:
        raise ConfigError(f"EMP_KILL_WEBHOOK_PORT: {error}") from error
    try:
        yield AnyKillSignal(kill_file, hook)
    finally:
        hook.close()
