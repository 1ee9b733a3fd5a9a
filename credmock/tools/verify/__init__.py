"""``credmock verify``: probe a deployment (a staging tenant, production, a credmock) and check
every answer against the contract (spec/openapi.yaml) and against what the probe expects.

Without ``--allow-writes`` the probes change nothing: requests without a token or with a
malformed one, bodies that are not JSON, an unknown email, bogus email tokens, wrong passwords.
With ``--allow-writes`` and a test account, the full flows run too (password reset, password
change, email change), each undone at its end; the emailed tokens come from the mock's outbox
(when the target is a credmock) or from ``--token-command``.

- :mod:`~credmock.tools.verify.model`: the contract's operations, the options, a report row;
- :mod:`~credmock.tools.verify.steps`: the probes and flows, declared as data;
- :mod:`~credmock.tools.verify.runner`: runs them, one request and one checked answer per row;
- :mod:`~credmock.tools.verify.tokens`: reads the emailed tokens (outbox or the user's command);
- :mod:`~credmock.tools.verify.report`: the table, the summary, JUnit XML;
- :mod:`~credmock.tools.verify.command`: the command line and its exit status.

May import: the app (its specs) and the rest of :mod:`credmock.tools`.
"""

from credmock.tools.verify.command import add_verify_command, run_verify_command, verify
from credmock.tools.verify.model import Outcome, VerifyOptions

__all__ = ["Outcome", "VerifyOptions", "add_verify_command", "run_verify_command", "verify"]
