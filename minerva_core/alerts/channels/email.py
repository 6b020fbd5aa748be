"""The email channel: a plain-text message over SMTP with the standard library (smtplib).

config:
    host, port          the SMTP server; port defaults to 587 with STARTTLS, else 25
    from, to            the sender, and one address or a list
    starttls            upgrade with STARTTLS before anything else; default: true when a
                        username is given (a password never crosses in clear by default)
    ca_file             a CA bundle to verify the server's certificate against (else the
                        system's); the certificate is always verified
    username            log in as this user, with the password read from the environment
    password_env        variable named here: the password is never stored in the rule row
    timeout_seconds     default 10;  max_attempts: tries in this delivery, default 2
    subject_prefix      default "[Minerva]"
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
import time
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Callable, Mapping

from minerva_core.alerts.channels.base import AlertMessage
from minerva_core.errors import AlertChannelConfigError, EmailDeliveryError

log = logging.getLogger("minerva.alerts.email")


def _recipients(config: Mapping[str, Any]) -> list[str]:
    to = config.get("to")
    to = [to] if isinstance(to, str) else list(to or [])
    if not to or not all(isinstance(a, str) and "@" in a for a in to):
        raise AlertChannelConfigError("email needs 'to': an address or a list of them", channel="email", attempts=0)
    return to


def build_message(alert: AlertMessage, config: Mapping[str, Any]) -> EmailMessage:
    sender = config.get("from")
    if not isinstance(sender, str) or "@" not in sender:
        raise AlertChannelConfigError("email needs a 'from' address", channel="email", attempts=0)
    msg = EmailMessage()
    prefix = str(config.get("subject_prefix", "[Minerva]"))
    msg["Subject"] = f"{prefix} {alert.title}: {alert.message}"[:250].replace("\n", " ")
    msg["From"] = sender
    msg["To"] = ", ".join(_recipients(config))
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[1])
    msg["X-Minerva-Alert-Id"] = str(alert.event_id)
    msg["X-Minerva-Alert-Kind"] = alert.kind
    lines = [alert.message, ""] + [f"{label}: {value}" for label, value in alert.facts()]
    msg.set_content("\n".join(lines) + "\n")
    return msg


def _retryable(exc: Exception) -> tuple[bool, int | None]:
    """Whether a later try may succeed, and the SMTP code when the server answered one."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return all(400 <= c < 500 for c in codes), (codes[0] if codes else None)
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500, exc.smtp_code
    if isinstance(exc, (ssl.SSLError, smtplib.SMTPNotSupportedError)):
        return False, None  # a certificate or TLS mismatch will not fix itself
    if isinstance(exc, (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, OSError)):
        return True, None
    return False, None


class EmailChannel:
    name = "email"

    def __init__(
        self,
        *,
        environ: Mapping[str, str] | None = None,
        smtp_factory: Callable[..., smtplib.SMTP] = smtplib.SMTP,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._environ = environ
        self._smtp_factory = smtp_factory
        self._sleep = sleep

    def _password(self, config: Mapping[str, Any]) -> str | None:
        if not config.get("username"):
            return None
        variable = config.get("password_env")
        if not variable:
            raise AlertChannelConfigError("email username given without password_env", channel=self.name, attempts=0)
        password = (self._environ if self._environ is not None else os.environ).get(str(variable))
        if not password:
            raise AlertChannelConfigError(f"email password variable {variable} is not set", channel=self.name, attempts=0)
        return password

    def send(self, alert: AlertMessage, config: Mapping[str, Any]) -> int:
        host = config.get("host")
        if not isinstance(host, str) or not host:
            raise AlertChannelConfigError("email needs an SMTP 'host'", channel=self.name, attempts=0)
        message = build_message(alert, config)
        password = self._password(config)
        starttls = bool(config.get("starttls", bool(config.get("username"))))
        port = int(config.get("port", 587 if starttls else 25))
        max_attempts = max(int(config.get("max_attempts", 2)), 1)
        for attempt in range(1, max_attempts + 1):
            try:
                self._deliver(message, config, host, port, starttls, password)
                log.info("alert %s mailed via %s:%d (try %d)", alert.event_id, host, port, attempt)
                return attempt
            except (smtplib.SMTPException, OSError) as exc:
                retryable, code = _retryable(exc)
                detail = f" {code}" if code else ""
                error = EmailDeliveryError(
                    f"SMTP via {host}:{port} failed: {exc.__class__.__name__}{detail}",
                    attempts=attempt, smtp_code=code, retryable=retryable,
                )
            log.warning("alert %s: %s (try %d of %d)", alert.event_id, error, attempt, max_attempts)
            if not error.retryable or attempt == max_attempts:
                raise error
            self._sleep(float(config.get("backoff_seconds", 2.0)) * attempt)
        raise AssertionError("unreachable")

    def _deliver(self, message, config, host: str, port: int, starttls: bool, password: str | None) -> None:
        with self._smtp_factory(host, port, timeout=float(config.get("timeout_seconds", 10.0))) as smtp:
            smtp.ehlo()
            if starttls:
                context = ssl.create_default_context(cafile=config.get("ca_file"))
                smtp.starttls(context=context)
                smtp.ehlo()
            if password is not None:
                smtp.login(str(config["username"]), password)
            smtp.send_message(message)
