"""How messages physically leave: SMTP for e-mail, a pluggable SMS gateway (SMS_SENDER).

The only module that talks to smtplib or an SMS provider; a real gateway is one more class
here and one more name in `_SMS_SENDERS`.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass, field
from email.message import EmailMessage

from flask import current_app

from portal.registry.masking import mask_mobile

log = logging.getLogger(__name__)


class DeliveryFailed(Exception):
    """The message did not leave; the outbox tries again later."""


def send_email(to: str, subject: str, body: str) -> None:
    """Hand one e-mail to the SMTP server named in the settings."""
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["SMTP_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    try:
        with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=10) as smtp:
            if config["SMTP_STARTTLS"]:
                smtp.starttls()
            if config["SMTP_USER"]:
                smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"])
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        raise DeliveryFailed(f"smtp: {type(error).__name__}") from error


class ConsoleSmsSender:
    """Development: writes the SMS to the server log, the mobile number masked."""

    def send(self, mobile: str, body: str) -> None:
        log.info("SMS to %s: %s", mask_mobile(mobile), body)


@dataclass
class NullSmsSender:
    """Tests: sends nothing, remembers what it was given."""

    sent: list[tuple[str, str]] = field(default_factory=list)

    def send(self, mobile: str, body: str) -> None:
        self.sent.append((mobile, body))


_SMS_SENDERS = {"console": ConsoleSmsSender, "null": NullSmsSender}


def sms_sender():
    """The app's SMS sender (one per app, so a test can read what the null sender kept)."""
    senders = current_app.extensions.setdefault("sms_senders", {})
    name = current_app.config["SMS_SENDER"]
    if name not in senders:
        senders[name] = _SMS_SENDERS[name]()
    return senders[name]


def send_sms(mobile: str, body: str) -> None:
    sms_sender().send(mobile, body)
