"""`credmock verify --mailbox`: the write flows read their emailed tokens over IMAP from a real
IMAP server. Debian's dovecot, started by the test in a temporary folder, holds a catch-all
mailbox; the target sends its emails over SMTP to an aiosmtpd that hands each one to dovecot's
LDA (``dovecot-lda``), as a mail system delivers them.

Without dovecot the tests are skipped with the reason, unless ``CREDMOCK_REQUIRE_IMAP`` is set (as
CI does, after scripts/install-dovecot.sh): then they fail.
"""

from __future__ import annotations

import asyncio
import getpass
import imaplib
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from credmock.tools.cli import main
from credmock.tools.testing import free_port
from credmock.tools.verify.mailbox import ImapTokens, parse_mailbox_url
from credmock.tools.verify.tokens import TokenUnavailable
from tests.broken_server import Answer, Plant, PlantedServer
from tests.conftest import ALICE, TENANT

DOVECOT, LDA = Path("/usr/sbin/dovecot"), Path("/usr/lib/dovecot/dovecot-lda")
MAILBOX_USER, MAILBOX_PASSWORD = "catchall@example.com", "mailbox-pass-1"
LOGIN = ["--client-id", "storefront", "--email", ALICE["email"], "--password", ALICE["password"]]


class Dovecot:
    """A private dovecot instance: IMAP on a free loopback port, one catch-all Maildir user."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.config = folder / "dovecot.conf"
        root = os.geteuid() == 0
        internal, login = ("dovecot", "dovenull") if root else (getpass.getuser(), getpass.getuser())
        mail_user = "dovecot" if root else getpass.getuser()
        (folder / "mail").mkdir()
        (folder / "users").write_text(f"{MAILBOX_USER}:{{PLAIN}}{MAILBOX_PASSWORD}\n")
        if root:
            subprocess.run(["chown", f"{mail_user}:", str(folder / "mail")], check=True)
        self.config.write_text(
            f"""
base_dir = {folder}/run
state_dir = {folder}/state
instance_name = credmock-test-{self.port}
log_path = {folder}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{folder}/mail/%u
first_valid_uid = 0
default_internal_user = {internal}
default_login_user = {login}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder}/users
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_user} home={folder}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""
        )

    def start(self) -> Dovecot:
        subprocess.run([str(DOVECOT), "-c", str(self.config)], check=True)
        deadline = time.monotonic() + 20
        while True:
            try:
                imaplib.IMAP4("127.0.0.1", self.port, timeout=2).logout()
                return self
            except OSError:
                if time.monotonic() > deadline:
                    log = (self.folder / "dovecot.log").read_text(errors="replace")
                    raise RuntimeError(f"dovecot did not start:\n{log}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        pid = (self.folder / "run" / "master.pid").read_text().strip()
        os.kill(int(pid), 15)

    def deliver(self, message: bytes, sender: str = "shop@example.com") -> None:
        """One message into the catch-all mailbox, through dovecot's LDA (as a mail system does)."""
        subprocess.run(
            [str(LDA), "-c", str(self.config), "-d", MAILBOX_USER, "-f", sender],
            input=message,
            check=True,
            timeout=30,
        )

    def messages(self) -> list[bytes]:
        connection = imaplib.IMAP4("127.0.0.1", self.port)
        try:
            connection.login(MAILBOX_USER, MAILBOX_PASSWORD)
            connection.select("INBOX", readonly=True)
            _, data = connection.uid("SEARCH", "ALL")
            found = []
            for uid in (data[0] or b"").split():
                _, fetched = connection.uid("FETCH", uid, "(RFC822)")
                found.append(next(item[1] for item in fetched if isinstance(item, tuple)))
            return found
        finally:
            connection.logout()

    @property
    def url(self) -> str:
        return f"imap+insecure://{MAILBOX_USER.replace('@', '%40')}@127.0.0.1:{self.port}/INBOX"


class HandToLda:
    """An aiosmtpd handler: every message accepted is handed to dovecot's LDA."""

    def __init__(self, dovecot: Dovecot) -> None:
        self.dovecot = dovecot

    async def handle_DATA(self, server, session, envelope):
        await asyncio.to_thread(self.dovecot.deliver, envelope.original_content, envelope.mail_from)
        return "250 Message delivered"


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    if not (DOVECOT.exists() and LDA.exists()):
        if os.environ.get("CREDMOCK_REQUIRE_IMAP"):
            pytest.fail("dovecot is missing and CREDMOCK_REQUIRE_IMAP is set (scripts/install-dovecot.sh)")
        pytest.skip("dovecot is not installed (scripts/install-dovecot.sh installs it)")
    # Not under pytest's tmp folder: dovecot's own users (when run as root) must reach the files.
    folder = Path(tempfile.mkdtemp(prefix="credmock-dovecot-"))
    folder.chmod(0o755)
    server = Dovecot(folder).start()
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def smtp_to_dovecot(dovecot: Dovecot) -> Iterator[str]:
    controller = Controller(HandToLda(dovecot), hostname="127.0.0.1", port=free_port())
    controller.start()
    yield f"smtp://127.0.0.1:{controller.port}"
    controller.stop()


def email_with(to: str, text: str, sent_at: float | None = None, html: str | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = "shop@example.com"
    message["To"] = to
    message["Subject"] = "Reset your password"
    message["Date"] = formatdate(sent_at, usegmt=True)
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message.as_bytes()


def test_verify_write_flows_read_their_tokens_over_imap_from_dovecot(
    capsys, monkeypatch, dovecot, smtp_to_dovecot
):
    """The target is no credmock to verify (its /_mock API answers 404): without the mailbox the
    emailed flows could not run; with it, every step passes on tokens read over IMAP."""
    monkeypatch.setenv("CREDMOCK_MAILBOX_PASSWORD", MAILBOX_PASSWORD)
    with PlantedServer(smtp_url=smtp_to_dovecot) as target:
        target.plants["/_mock/health"] = Plant("GET", Answer(404, {"message": "Not found."}))
        status = main(
            ["verify", "--base-url", target.base_url, "--tenant", TENANT, *LOGIN, "--allow-writes",
             "--other-tenant", "othertenant", "--mailbox", dovecot.url]
        )  # fmt: skip
    captured = capsys.readouterr()
    rows = captured.out.splitlines()
    emailed = [line for line in rows if "email change and back:" in line or "password reset:" in line]
    assert len(emailed) == 10
    assert all("  PASS" in line for line in emailed), emailed
    assert status == 0, [line for line in rows if "  PASS" not in line]
    assert f"emailed tokens read from the mailbox imap+insecure://{MAILBOX_USER}@127.0.0.1" in captured.err
    # The four emails (two email changes, two resets) are in the mailbox, delivered by the LDA.
    recipients = [re.search(rb"^To: (.*)$", raw, re.M).group(1) for raw in dovecot.messages()]  # type: ignore[union-attr]
    assert len([to for to in recipients if ALICE["email"].encode() in to]) >= 3


def test_mailbox_reads_the_newest_message_sent_after_the_probe_started(dovecot):
    reader = ImapTokens(parse_mailbox_url(dovecot.url), MAILBOX_PASSWORD, wait_seconds=5)
    to = "bob+mailbox-test@example.com"
    dovecot.deliver(email_with(to, "Old link: https://shop.example/reset?token=old-token-1"))
    reader.mark(to, "password-reset")
    dovecot.deliver(email_with(to, "Not this one: https://shop.example/reset?token=first-new-3"))
    dovecot.deliver(
        email_with(to, "Open the link in the HTML part.",
                   html='<a href="https://shop.example/reset?tenant=demo&amp;token=newest%2B4">Reset</a>')
    )  # fmt: skip
    # Delivered last, but sent an hour before the probe started: not the probe's email.
    dovecot.deliver(email_with(to, "Delayed: token: delayed-token-5", sent_at=time.time() - 3600))
    # The newest one sent after the mark; its token from the HTML part's link, URL-decoded.
    assert reader.token(to, "password-reset") == "newest+4"

    # Nothing new for bob since the next mark: no token, and the reason names the recipient.
    reader.wait_seconds = 0.3
    reader.mark(to, "password-reset")
    dovecot.deliver(email_with("someone-else@example.com", "token: not-for-bob-6"))
    with pytest.raises(TokenUnavailable, match="no new password-reset email to bob"):
        reader.token(to, "password-reset")


def test_verify_with_a_refused_mailbox_login_fails_the_gate(capsys, monkeypatch, dovecot, smtp_to_dovecot):
    monkeypatch.setenv("CREDMOCK_MAILBOX_PASSWORD", "not-the-password")
    with PlantedServer(smtp_url=smtp_to_dovecot) as target:
        status = main(
            ["verify", "--base-url", target.base_url, "--tenant", TENANT, *LOGIN, "--allow-writes",
             "--mailbox", dovecot.url, "--allow-skips"]
        )  # fmt: skip
    rows = capsys.readouterr().out.splitlines()
    request = next(line for line in rows if "email change and back: request  " in line)
    assert "FAIL  could not read the emailed token: the mailbox" in request
    assert "AUTHENTICATIONFAILED" in request or "Authentication failed" in request
    assert status == 1  # a failed mailbox is a failure, --allow-skips or not


def test_mailbox_imap_url_speaks_tls_and_never_falls_back_to_plain_text(dovecot):
    """``imap://`` is IMAP over TLS: against a server that only speaks plain IMAP the connection
    fails (no password is sent in clear); ``imap+insecure://`` is the explicit opt-out."""
    secure = parse_mailbox_url(f"imap://{MAILBOX_USER.replace('@', '%40')}@127.0.0.1:{dovecot.port}/INBOX")
    assert secure.tls and not parse_mailbox_url(dovecot.url).tls
    reader = ImapTokens(secure, MAILBOX_PASSWORD, wait_seconds=0.3)
    with pytest.raises(TokenUnavailable, match=r"the mailbox imap://.*(SSL|ssl|record|EOF)"):
        reader.mark("bob@example.com", "password-reset")
    remote = parse_mailbox_url("imap://u@mail.example.com/Shop%20Mail")
    assert (remote.port, remote.folder) == (993, "Shop Mail")
