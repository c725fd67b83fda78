"""A kill switch driven by metrics alerts: Prometheus Alertmanager webhooks over loopback."""

from emp.adapters.alert_webhook.webhook import (
    AlertWebhookError,
    AlertWebhookKillSignal,
    parse_label_matchers,
)

__all__ = ["AlertWebhookError", "AlertWebhookKillSignal", "parse_label_matchers"]
