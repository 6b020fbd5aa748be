"""The channels against real local receivers: an HTTP server for the webhook, aiosmtpd for
email (plain, and STARTTLS with login), caplog for the log channel."""

from __future__ import annotations

import email
import logging
import ssl
from datetime import datetime, timezone
from decimal import Decimal
from email import policy

import pytest

from minerva_core.alerts.channels import AlertMessage, EmailChannel, LogChannel, WebhookChannel, slack_payload
from minerva_core.errors import AlertChannelConfigError, EmailDeliveryError, WebhookDeliveryError
from tests.alerts.conftest import RecordingHandler, free_port
from tests.alerts.tls import self_signed

ALERT = AlertMessage(
    event_id=42, source="rule", kind="spend.total_usd", severity="critical",
    message="spend.total_usd [model=openai/gpt-4o] is 12.5 (>= 10)",
    fired_at=datetime(2026, 3, 15, 12, tzinfo=timezone.utc), rule_name="team spend",
    observed_value=Decimal("12.5"), threshold=Decimal("10"),
    payload={"comparison": "gte", "subject": {"model": "openai/gpt-4o"}},
)
TOKEN = "T000/B000/XXXXsecretXXXX"


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def test_slack_payload_shape():
    body = slack_payload(ALERT)
    assert set(body) == {"text", "blocks"}
    assert body["text"].startswith("[CRITICAL] team spend: ")
    assert [b["type"] for b in body["blocks"]] == ["header", "section", "section", "context"]
    fields = {f["text"].split("\n")[0]: f["text"].split("\n")[1] for f in body["blocks"][2]["fields"]}
    assert fields["*Observed*"] == "12.5" and fields["*Threshold*"] == "gte 10"
    assert len(body["blocks"][2]["fields"]) <= 10
    escaped = slack_payload(AlertMessage(1, "system", "k", "info", "a <b> & c", ALERT.fired_at))
    assert "a &lt;b&gt; &amp; c" in escaped["text"]


def test_webhook_retries_a_500_then_delivers(webhook_receiver, caplog):
    webhook_receiver.script[f"/services/{TOKEN}"] = [500, 200]
    sleeps = Sleeps()
    channel = WebhookChannel(sleep=sleeps)
    with caplog.at_level(logging.DEBUG):
        tries = channel.send(ALERT, {"url": f"{webhook_receiver.url}/services/{TOKEN}", "backoff_seconds": 0.5})
    assert tries == 2
    bodies = webhook_receiver.bodies()
    assert len(bodies) == 2 and bodies[0] == bodies[1] == slack_payload(ALERT)
    assert sleeps == [0.5]
    assert "127.0.0.1" in caplog.text and "secret" not in caplog.text


def test_webhook_honours_retry_after_on_429(webhook_receiver):
    webhook_receiver.script["/hook"] = [429, 429, 200]
    webhook_receiver.retry_after["/hook"] = "2"
    sleeps = Sleeps()
    assert WebhookChannel(sleep=sleeps).send(ALERT, {"url": f"{webhook_receiver.url}/hook"}) == 3
    assert sleeps == [2.0, 2.0]


def test_webhook_gives_up_after_max_attempts_and_names_only_the_host(webhook_receiver, caplog):
    webhook_receiver.script[f"/{TOKEN}"] = [503] * 5
    with caplog.at_level(logging.DEBUG), pytest.raises(WebhookDeliveryError) as err:
        WebhookChannel(sleep=Sleeps()).send(ALERT, {"url": f"{webhook_receiver.url}/{TOKEN}", "max_attempts": 3})
    assert err.value.attempts == 3 and err.value.retryable and err.value.status_code == 503
    assert len(webhook_receiver.requests) == 3
    assert "secret" not in str(err.value) and "secret" not in caplog.text
    assert "127.0.0.1" in str(err.value)


def test_webhook_does_not_retry_a_client_error(webhook_receiver):
    webhook_receiver.script["/gone"] = [404]
    with pytest.raises(WebhookDeliveryError) as err:
        WebhookChannel(sleep=Sleeps()).send(ALERT, {"url": f"{webhook_receiver.url}/gone"})
    assert err.value.attempts == 1 and not err.value.retryable
    assert len(webhook_receiver.requests) == 1


def test_webhook_retries_a_refused_connection():
    sleeps = Sleeps()
    with pytest.raises(WebhookDeliveryError) as err:
        WebhookChannel(sleep=sleeps).send(ALERT, {"url": f"http://127.0.0.1:{free_port()}/x", "backoff_seconds": 1})
    assert err.value.attempts == 3 and err.value.retryable and err.value.status_code is None
    assert sleeps == [1, 2]


def test_webhook_url_from_the_environment(webhook_receiver):
    channel = WebhookChannel(environ={"SLACK_URL": f"{webhook_receiver.url}/env"})
    assert channel.send(ALERT, {"url_env": "SLACK_URL"}) == 1
    assert webhook_receiver.requests[0]["path"] == "/env"
    with pytest.raises(AlertChannelConfigError) as err:
        WebhookChannel(environ={}).send(ALERT, {"url_env": "SLACK_URL"})
    assert err.value.attempts == 0 and not err.value.retryable
    with pytest.raises(AlertChannelConfigError):
        WebhookChannel().send(ALERT, {"url": "ftp://example.invalid/x"})


def _received(handler: RecordingHandler) -> email.message.EmailMessage:
    (message,) = handler.messages
    return email.message_from_bytes(message["content"], policy=policy.default)


def test_email_over_plain_smtp(smtp_receiver):
    handler, port = smtp_receiver
    config = {"host": "127.0.0.1", "port": port, "from": "minerva@example.com", "to": ["ops@example.com", "fin@example.com"]}
    assert EmailChannel().send(ALERT, config) == 1
    received = _received(handler)
    assert handler.messages[0]["rcpt_tos"] == ["ops@example.com", "fin@example.com"]
    assert received["Subject"].startswith("[Minerva] [CRITICAL] team spend: ")
    assert received["X-Minerva-Alert-Id"] == "42"
    body = received.get_content()
    assert ALERT.message in body and "Observed: 12.5" in body


def test_email_with_starttls_and_a_password_from_the_environment(tmp_path, caplog):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    cert, key = self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    seen = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        seen.append((auth_data.login, auth_data.password))
        ok = auth_data.login == b"alerts" and auth_data.password == b"s3cr3t-pw"
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    handler, port = RecordingHandler(), free_port()
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, tls_context=server_tls, require_starttls=True,
        authenticator=authenticator, auth_require_tls=True,
    )
    controller.start()
    try:
        config = {"host": "127.0.0.1", "port": port, "from": "minerva@example.com", "to": "ops@example.com",
                  "username": "alerts", "password_env": "MINERVA_TEST_SMTP_PASSWORD", "ca_file": str(cert)}
        channel = EmailChannel(environ={"MINERVA_TEST_SMTP_PASSWORD": "s3cr3t-pw"})
        with caplog.at_level(logging.DEBUG):
            assert channel.send(ALERT, config) == 1  # starttls defaults on with a username
        assert handler.messages[0]["tls"] is True
        assert seen == [(b"alerts", b"s3cr3t-pw")]
        assert "s3cr3t" not in caplog.text

        wrong = EmailChannel(environ={"MINERVA_TEST_SMTP_PASSWORD": "nope"}, sleep=Sleeps())
        with pytest.raises(EmailDeliveryError) as err:
            wrong.send(ALERT, config)
        assert err.value.smtp_code == 535 and not err.value.retryable and err.value.attempts == 1

        unverified = {**config, "ca_file": None}
        with pytest.raises(EmailDeliveryError) as err:
            channel.send(ALERT, unverified)  # an unknown CA is refused, not retried
        assert not err.value.retryable
    finally:
        controller.stop()
    assert len(handler.messages) == 1


def test_email_config_errors_and_a_server_that_is_down():
    base = {"host": "127.0.0.1", "port": free_port(), "from": "minerva@example.com", "to": "ops@example.com"}
    with pytest.raises(AlertChannelConfigError, match="MISSING_PW"):
        EmailChannel(environ={}).send(ALERT, {**base, "username": "u", "password_env": "MISSING_PW"})
    with pytest.raises(AlertChannelConfigError):
        EmailChannel().send(ALERT, {**base, "to": []})
    sleeps = Sleeps()
    with pytest.raises(EmailDeliveryError) as err:
        EmailChannel(sleep=sleeps).send(ALERT, {**base, "backoff_seconds": 0.1})
    assert err.value.retryable and err.value.attempts == 2 and sleeps == [0.1]


def test_log_channel_levels_by_severity(caplog):
    channel = LogChannel()
    with caplog.at_level(logging.INFO, logger="minerva.alerts"):
        assert channel.send(ALERT, {}) == 1
        channel.send(AlertMessage(7, "system", "catalog.quarantined", "info", "batch held", ALERT.fired_at), {})
        channel.send(AlertMessage(8, "system", "x", "info", "louder", ALERT.fired_at), {"level": "error"})
    records = [r for r in caplog.records if r.name == "minerva.alerts"]
    assert [r.levelno for r in records] == [logging.CRITICAL, logging.INFO, logging.ERROR]
    assert ALERT.message in records[0].getMessage() and "observed=12.5" in records[0].getMessage()
    assert records[1].alert_kind == "catalog.quarantined" and records[1].alert_event_id == 7
    with pytest.raises(AlertChannelConfigError):
        channel.send(ALERT, {"level": "loud"})
