"""Delivering the outbox's emails to a real SMTP server (Mailpit, MailHog, a company relay).

Delivery runs on one background thread fed by a bounded queue: an API call never waits for the
SMTP server and never fails because of it. Each email's :class:`Delivery` says how it went
(queued, sent, failed and why); the outbox shows it. The header section is written by
:mod:`credmock.mail.headers` (one encoder for every value), the MIME body by the standard
library, so no name or address, in any encoding, can add a header or a recipient.
"""

from __future__ import annotations

import logging
import queue
import smtplib
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate, getaddresses
from urllib.parse import unquote, urlsplit

from credmock.core.messages import FAILED, SENT, Delivery, Email
from credmock.core.redaction import url_without_password
from credmock.core.visible_text import one_line, visible
from credmock.mail.headers import address_value, header_section, text_value

logger = logging.getLogger("credmock.mail.smtp")

SCHEMES = {"smtp": 25, "smtps": 465, "smtp+starttls": 587}
QUEUE_SIZE = 1000
TIMEOUT_SECONDS = 10.0
# The MIME body's policy: CRLF line ends, its own headers (Content-Type...) folded only beyond
# SMTP's limit, text in 7 bits (quoted-printable or base64 when it is not ASCII), as every relay
# takes it.
_POLICY = SMTP_POLICY.clone(max_line_length=998, cte_type="7bit")


@dataclass(frozen=True)
class SmtpServer:
    scheme: str
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        """``smtp://[user:password@]host[:port]``, ``smtps://...`` or ``smtp+starttls://...``."""
        parts = urlsplit(url)
        if parts.scheme not in SCHEMES or not parts.hostname:
            raise ValueError(
                f"the SMTP URL {url_without_password(url)!r} is not smtp://HOST:PORT "
                "(or smtps://, smtp+starttls://), "
                "e.g. smtp://127.0.0.1:1025 for Mailpit"
            )
        try:
            port = parts.port or SCHEMES[parts.scheme]
        except ValueError:
            raise ValueError(
                f"the SMTP URL {url_without_password(url)!r} has a port that is not a number from 1 to 65535"
            ) from None
        username = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password else None
        return cls(parts.scheme, parts.hostname, port, username, password)

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"  # never the password


def parse_sender(mail_from: str) -> Address:
    """``--mail-from``: ``name <address>`` or ``address``, one of them, on one line."""
    if one_line(mail_from) != mail_from.strip():
        raise ValueError(f"the sender {mail_from!r} (--mail-from) holds a line break or control character")
    addresses = getaddresses([mail_from])
    if len(addresses) != 1 or "@" not in addresses[0][1]:
        raise ValueError(f"the sender {mail_from!r} (--mail-from) is not 'Name <address>' or an address")
    name, address = addresses[0]
    sender = Address(display_name=name, addr_spec=address)
    address_value("From", sender.display_name, sender.addr_spec)  # HeaderError (a ValueError) at start
    return sender


def message_headers(email: Email, sender: Address) -> list[tuple[str, str]]:
    """credmock's headers of ``email``, each value written by :mod:`credmock.mail.headers`."""
    return [
        ("Subject", text_value("Subject", email.subject)),
        ("From", address_value("From", sender.display_name, sender.addr_spec)),
        ("To", address_value("To", email.name, email.to)),
        ("Date", formatdate(email.sent_at, usegmt=True)),
        ("Message-ID", f"<{text_value('Message-ID', email.id)}@credmock.localhost>"),
        ("X-Credmock-Kind", text_value("X-Credmock-Kind", email.kind)),
        ("X-Credmock-Tenant", text_value("X-Credmock-Tenant", email.tenant)),
        ("X-Credmock-Token", text_value("X-Credmock-Token", email.token)),
    ]


def build_message(email: Email, sender: Address) -> bytes:
    """The message of ``email`` as sent: credmock's header section, then the MIME entity (text
    and HTML alternatives, with its MIME-Version and Content-Type) the standard library writes."""
    entity = EmailMessage(policy=_POLICY)
    entity.set_content(email.body)
    if email.html:
        entity.add_alternative(email.html, subtype="html")
    return header_section(message_headers(email, sender)) + entity.as_bytes()


def describe(error: Exception) -> str:
    """One line saying why a delivery failed."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(
            f"{recipient} refused: {code} {reply.decode(errors='replace')}"
            for recipient, (code, reply) in error.recipients.items()
        )
    if isinstance(error, smtplib.SMTPResponseException):
        return f"the server answered {error.smtp_code} {error.smtp_error.decode(errors='replace')}"
    return f"{type(error).__name__}: {error}"


OnChange = Callable[["Delivery"], None]


def report(on_change: OnChange | None, delivery: Delivery) -> None:
    """Tell ``on_change`` how a delivery went; its failure is logged, never the thread's."""
    if on_change is None:
        return
    try:
        on_change(delivery)
    except Exception as error:
        logger.warning("the delivery status could not be kept: %s", error)


class SmtpDelivery:
    """Delivers emails to one SMTP server from a background thread, started on first use."""

    def __init__(self, url: str, mail_from: str, *, timeout: float = TIMEOUT_SECONDS) -> None:
        self.server = SmtpServer.from_url(url)
        self.sender = parse_sender(mail_from)
        self.timeout = timeout
        self._queue: queue.Queue[tuple[Email, Delivery, OnChange | None]] = queue.Queue(maxsize=QUEUE_SIZE)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(self, email: Email, on_change: OnChange | None = None) -> Delivery:
        """Queue ``email`` for delivery; returns its :class:`Delivery`, at once. ``on_change`` is
        called with it once the delivery is over (sent or failed), on the delivery thread."""
        delivery = Delivery()
        try:
            self._queue.put_nowait((email, delivery, on_change))
        except queue.Full:
            self._finish(
                email, delivery, f"not delivered: {QUEUE_SIZE} emails already wait for {self.server}"
            )
            report(on_change, delivery)
            return delivery
        self._ensure_thread()
        return delivery

    def wait_until_idle(self, timeout: float = 30.0) -> bool:
        """Whether every queued email was handled within ``timeout`` seconds (for tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._queue.unfinished_tasks

    def _ensure_thread(self) -> None:
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, daemon=True, name="credmock-smtp")
                self._thread.start()

    def _run(self) -> None:
        while True:
            email, delivery, on_change = self._queue.get()
            try:
                self._deliver(email)
            except Exception as error:  # any failure is the email's, never the thread's
                self._finish(email, delivery, describe(error))
            else:
                delivery.status, delivery.finished_at = SENT, time.time()
            finally:
                report(on_change, delivery)
                self._queue.task_done()

    def _finish(self, email: Email, delivery: Delivery, error: str) -> None:
        delivery.error, delivery.finished_at = error, time.time()
        delivery.status = FAILED
        logger.warning(
            "email %s to %s not delivered to %s: %s", email.id, visible(email.to), self.server, visible(error)
        )

    def _deliver(self, email: Email) -> None:
        message = build_message(email, self.sender)
        server = self.server
        if server.scheme == "smtps":
            connection: smtplib.SMTP = smtplib.SMTP_SSL(
                server.host, server.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            connection = smtplib.SMTP(server.host, server.port, timeout=self.timeout)
        with connection:
            if server.scheme == "smtp+starttls":
                connection.starttls(context=ssl.create_default_context())
            if server.username is not None:
                connection.login(server.username, server.password or "")
            options: list[str] = []
            if not (self.sender.addr_spec.isascii() and email.to.isascii()):  # RFC 6531
                connection.ehlo_or_helo_if_needed()
                if not connection.has_extn("smtputf8"):
                    raise smtplib.SMTPNotSupportedError(
                        "a non-ASCII address needs SMTPUTF8, which the server does not offer"
                    )
                options = ["SMTPUTF8", "BODY=8BITMIME"]
            connection.sendmail(self.sender.addr_spec, [email.to], message, mail_options=options)
