"""``credmock verify``: probe a deployment (a staging tenant, production, a credmock) and check
every answer against the contract (spec/openapi.yaml and the storefront's spec/storefront.yaml)
and against what the probe expects; an exit status a release gate can use.

Without ``--allow-writes`` the probes change nothing: hand-written probes, the negatives generated
from the contract (wrong credentials, missing and mistyped fields, crossed bounds, bodies that are
not JSON) and a session of its own. With ``--allow-writes`` and a test account, the write flows
run too (profile, address, password, email, reset), each undone at its end; the emailed tokens
come from the mock's outbox, an IMAP mailbox (``--mailbox``) or ``--token-command``.

- :mod:`~credmock.tools.verify.model`: the served operations, the options, a report row;
- :mod:`~credmock.tools.verify.generate`: the negative cases derived from the schemas;
- :mod:`~credmock.tools.verify.steps`: the hand-written probes and the flows, declared as data;
- :mod:`~credmock.tools.verify.runner`: runs them, one request and one checked answer per row;
- :mod:`~credmock.tools.verify.tokens`, :mod:`~credmock.tools.verify.mailbox`: the emailed tokens;
- :mod:`~credmock.tools.verify.drift`: the same probes against an in-process credmock, compared;
- :mod:`~credmock.tools.verify.report`: the table, the summary, JUnit, JSON and HTML;
- :mod:`~credmock.tools.verify.command`: the command line and its exit status.

May import: the app (its specs) and the rest of :mod:`credmock.tools`.
"""

from credmock.tools.verify.command import add_verify_command, run_verify_command, verify
from credmock.tools.verify.model import Outcome, VerifyOptions

__all__ = ["Outcome", "VerifyOptions", "add_verify_command", "run_verify_command", "verify"]
