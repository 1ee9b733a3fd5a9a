"""Reading the emailed tokens from a real mailbox over IMAP (``--mailbox``): the newest message to
the probe's recipient that arrived after the probe started, and the token from its link
(``token=`` in a URL) or its text (``token: ...``)."""

from __future__ import annotations

import email
import email.policy
import email.utils
import html
import imaplib
import re
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from credmock.tools.verify.tokens import TokenUnavailable

SCHEMES = {"imap": (993, True), "imaps": (993, True), "imap+insecure": (143, False)}
_URL = re.compile(r"https?://[^\s\"'<>]+")
_TOKEN_IN_TEXT = re.compile(r"\btoken\b\s*[:=]\s*([A-Za-z0-9._~%+/=-]{6,})", re.IGNORECASE)


class MailboxError(ValueError):
    """A --mailbox URL that cannot be used."""


@dataclass(frozen=True)
class MailboxUrl:
    user: str
    host: str
    port: int
    folder: str
    tls: bool

    def __str__(self) -> str:
        scheme = "imap" if self.tls else "imap+insecure"
        return f"{scheme}://{self.user}@{self.host}:{self.port}/{self.folder}"


def parse_mailbox_url(url: str) -> MailboxUrl:
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise MailboxError(f"--mailbox {url!r}: use imap://USER@HOST[:PORT]/FOLDER (or imap+insecure://)")
    if not parts.username or not parts.hostname:
        raise MailboxError(f"--mailbox {url!r}: name the user and the host, imap://USER@HOST/FOLDER")
    if parts.password:
        raise MailboxError("--mailbox: the password goes in an environment variable, not in the URL")
    default_port, tls = SCHEMES[parts.scheme]
    try:
        port = parts.port or default_port
    except ValueError:
        raise MailboxError(f"--mailbox {url!r}: the port is not a number") from None
    folder = unquote(parts.path.strip("/")) or "INBOX"
    return MailboxUrl(unquote(parts.username), parts.hostname, port, folder, tls)


def token_from_message(message: EmailMessage) -> str | None:
    """The token of a link (its ``token`` query parameter), else one after ``token:`` in the text."""
    for preference in (("plain",), ("html",)):
        part = message.get_body(preferencelist=preference)
        if part is None:
            continue
        text = part.get_content()
        if preference == ("html",):  # the links from the markup, the words from the text
            text = html.unescape(text) + "\n" + html.unescape(re.sub(r"<[^>]+>", " ", text))
        for url in _URL.findall(text):
            values = parse_qs(urlsplit(url).query).get("token")
            if values and values[0]:
                return values[0]
        found = _TOKEN_IN_TEXT.search(text)
        if found:
            return unquote(found.group(1))
    return None


class ImapTokens:
    """Emailed tokens read from an IMAP folder."""

    def __init__(self, mailbox: MailboxUrl, password: str, wait_seconds: float = 30.0, timeout: float = 10.0):
        self.mailbox = mailbox
        self.password = password
        self.wait_seconds = wait_seconds
        self.timeout = timeout
        self.description = f"the mailbox {mailbox}"
        self._marks: dict[str, tuple[float, int]] = {}  # recipient -> (time, highest UID then)

    @classmethod
    def from_url(cls, url: str, password: str | None, wait_seconds: float = 30.0) -> ImapTokens:
        return cls(parse_mailbox_url(url), password or "", wait_seconds)

    def _connect(self) -> imaplib.IMAP4:
        try:
            if self.mailbox.tls:
                connection: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    self.mailbox.host,
                    self.mailbox.port,
                    ssl_context=ssl.create_default_context(),
                    timeout=self.timeout,
                )
            else:
                connection = imaplib.IMAP4(self.mailbox.host, self.mailbox.port, timeout=self.timeout)
            connection.login(self.mailbox.user, self.password)
            status, _ = connection.select(_quoted(self.mailbox.folder), readonly=True)
        except (OSError, imaplib.IMAP4.error) as error:
            raise TokenUnavailable(f"the mailbox {self.mailbox}: {error}") from None
        if status != "OK":
            connection.logout()
            raise TokenUnavailable(f"the mailbox {self.mailbox}: no folder {self.mailbox.folder!r}")
        return connection

    def _uids_to(self, connection: imaplib.IMAP4, to: str) -> list[int]:
        status, data = connection.uid("SEARCH", "TO", _quoted(to))
        if status != "OK":
            raise TokenUnavailable(f"the mailbox {self.mailbox}: SEARCH TO {to} failed")
        return sorted(int(uid) for uid in (data[0] or b"").split())

    def mark(self, to: str, kind: str) -> None:
        connection = self._connect()
        try:
            uids = self._uids_to(connection, to)
        finally:
            connection.logout()
        self._marks[to] = (time.time(), uids[-1] if uids else 0)

    def token(self, to: str, kind: str) -> str:
        since, last_uid = self._marks.get(to, (0.0, 0))
        deadline = time.monotonic() + self.wait_seconds
        while True:
            token = self._newest_token(to, since, last_uid)
            if token:
                return token
            if time.monotonic() > deadline:
                raise TokenUnavailable(
                    f"no new {kind} email to {to} in the mailbox {self.mailbox} "
                    f"within {self.wait_seconds:g} s"
                )
            time.sleep(0.2)

    def _newest_token(self, to: str, since: float, last_uid: int) -> str | None:
        connection = self._connect()
        try:
            for uid in reversed([uid for uid in self._uids_to(connection, to) if uid > last_uid]):
                status, data = connection.uid("FETCH", str(uid), "(RFC822)")
                raw = (
                    next((item[1] for item in data if isinstance(item, tuple)), None)
                    if status == "OK"
                    else None
                )
                if raw is None:
                    continue
                message = email.message_from_bytes(raw, policy=email.policy.default)
                sent = email.utils.parsedate_to_datetime(message["Date"]) if message["Date"] else None
                if sent is not None and sent.timestamp() < int(since) - 1:
                    continue  # sent before the probe started (delivered late)
                token = token_from_message(message)  # type: ignore[arg-type]
                if token:
                    return token
            return None
        finally:
            connection.logout()


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
