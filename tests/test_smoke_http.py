from tests.conftest import ALICE, bearer


def test_request_reset_password_known_email_sends_one_email(client):
    token = client.anonymous_token()
    response = client.post(
        "/customer/demo/password/reset", json={"email": ALICE["email"]}, headers=bearer(token)
    )
    assert response.status_code == 204
    assert [email["to"] for email in client.outbox()] == [ALICE["email"]]
