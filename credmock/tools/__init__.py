"""What runs credmock or runs against it, from outside a request: the command line, the
environment options, the workers, the validating proxy, ``credmock verify``, the pytest plugin
and its test helpers (also importable as :mod:`credmock.testing`).

May import every other group (it is the top); nothing else imports it, except the public
:mod:`credmock.testing`, which re-exports its helpers.
"""
