"""Delivery of every email to a real SMTP server (aiosmtpd, started by the tests) beside the
outbox: the message's parts and headers, no header injection, and an API that answers the same
whether the server takes the mail, refuses it or is down."""

from __future__ import annotations

import email
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from credmock.app import create_app
from credmock.core.messages import PASSWORD_RESET
from credmock.mail.compose import compose
from credmock.settings import Settings
from credmock.tools.testing import free_port
from tests.conftest import ALICE, TENANT, bearer

SHOP_SENDER = "Demo Shop <shop@example.com>"
WAIT_SECONDS = 30


class Recorder:
    """An aiosmtpd handler that keeps each envelope, or refuses every recipient."""

    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse
        self.envelopes: list[Any] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def start_smtp(refuse: bool = False) -> tuple[Controller, Recorder]:
    recorder = Recorder(refuse)
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    return controller, recorder


@pytest.fixture
def smtp() -> Iterator[tuple[str, Recorder]]:
    controller, recorder = start_smtp()
    yield f"smtp://127.0.0.1:{controller.port}", recorder
    controller.stop()


@pytest.fixture
def refusing_smtp() -> Iterator[str]:
    controller, _ = start_smtp(refuse=True)
    yield f"smtp://127.0.0.1:{controller.port}"
    controller.stop()


def wait_for(condition: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"{what} did not happen within {WAIT_SECONDS} s")


def request_reset(client, email_address: str = ALICE["email"]) -> None:
    response = client.post(
        f"/customer/{TENANT}/password/reset",
        json={"email": email_address},
        headers=bearer(client.anonymous_token()),
    )
    assert response.status_code == 204, response.text


def delivery_of_latest(client) -> dict[str, Any]:
    return client.latest_email().get("delivery", {})


def parse(envelope: Any) -> EmailMessage:
    return email.message_from_bytes(envelope.original_content, policy=default_policy)  # type: ignore[return-value]


def test_reset_email_arrives_with_text_and_html_parts_and_credmock_headers(client_with, smtp) -> None:
    url, recorder = smtp
    client = client_with(smtp_url=url, mail_from=SHOP_SENDER)

    request_reset(client)

    [envelope] = wait_for(lambda: recorder.envelopes, "the delivery")
    sent = client.latest_email()
    message = parse(envelope)
    assert envelope.mail_from == "shop@example.com"
    assert envelope.rcpt_tos == [ALICE["email"]]
    assert message["From"] == SHOP_SENDER
    assert message["To"].addresses[0].addr_spec == ALICE["email"]
    assert message["Subject"] == sent["subject"]
    assert message["X-Credmock-Kind"] == "password-reset"
    assert message["X-Credmock-Token"] == sent["token"]
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert text.get_content().replace("\r\n", "\n") == sent["body"]
    assert f'href="{sent["link"].replace("&", "&amp;")}"' in html.get_content()
    assert wait_for(lambda: delivery_of_latest(client).get("status") == "sent", "the sent status")


def test_crlf_in_a_name_cannot_add_a_header_or_a_recipient(client_with, smtp) -> None:
    url, recorder = smtp
    client = client_with(smtp_url=url)
    created = client.post(
        f"/_mock/tenants/{TENANT}/customers",
        json={
            "email": "eve@example.com",
            "password": "eve-pass-5",
            "firstName": "Eve\r\nBcc: victim@example.com\r\nX-Injected: yes",
            "lastName": "Smith\n",
        },
    )
    assert created.status_code == 201, created.text

    request_reset(client, "eve@example.com")

    [envelope] = wait_for(lambda: recorder.envelopes, "the delivery")
    message = parse(envelope)
    assert envelope.rcpt_tos == ["eve@example.com"]
    assert message["Bcc"] is None and message["X-Injected"] is None
    assert [address.addr_spec for address in message["To"].addresses] == ["eve@example.com"]
    assert "victim@example.com" not in envelope.original_content.decode().split("\r\n\r\n", 1)[0].replace(
        message["To"], ""
    )


def test_server_down_leaves_the_api_answering_and_the_outbox_saying_why(client_with) -> None:
    client = client_with(smtp_url=f"smtp://127.0.0.1:{free_port()}")  # nothing listens there

    request_reset(client)

    delivery = wait_for(
        lambda: delivery_of_latest(client).get("status") == "failed" and delivery_of_latest(client),
        "the failure",
    )
    assert "ConnectionRefusedError" in delivery["error"]
    assert "at" in delivery
    request_reset(client)  # the next call answers as fast as ever
    assert len(client.outbox()) == 2


def test_refusing_server_leaves_the_api_answering_and_the_outbox_saying_why(
    client_with, refusing_smtp
) -> None:
    client = client_with(smtp_url=refusing_smtp)

    request_reset(client)

    delivery = wait_for(
        lambda: delivery_of_latest(client).get("status") == "failed" and delivery_of_latest(client),
        "the refusal",
    )
    assert "550" in delivery["error"]
    assert ALICE["email"] in delivery["error"]


def test_without_smtp_the_outbox_entry_has_no_delivery(client) -> None:
    request_reset(client)

    assert "delivery" not in client.latest_email()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"smtp_url": "http://127.0.0.1:1025"}, "smtp://HOST:PORT"),
        ({"smtp_url": "smtp://127.0.0.1:99999"}, "port"),
        (
            {"smtp_url": "smtp://127.0.0.1:1025", "mail_from": "Shop <a@b.example>\r\nBcc: x@y.example"},
            "line break",
        ),
        ({"smtp_url": "smtp://127.0.0.1:1025", "mail_from": "not an address"}, "not 'Name <address>'"),
    ],
)
def test_bad_smtp_settings_are_refused_at_start(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        create_app(Settings(**overrides))


def test_html_part_escapes_what_the_customer_typed() -> None:
    composed = compose(
        PASSWORD_RESET,
        name="<script>alert(1)</script>",
        token="tok",
        link="http://localhost:3000/reset?tenant=demo&token=tok",
        lifetime_seconds=3600,
    )

    assert "<script>" not in composed.html
    assert "&lt;script&gt;" in composed.html
    assert 'href="http://localhost:3000/reset?tenant=demo&amp;token=tok"' in composed.html
    assert "<script>" in composed.text  # the text part is plain text: shown as typed
