"""Everything a request passes through before and after its handler: the request head and body,
draining an unread body, CORS, body validation, the compiled operations of the fast path, the
bearer and control-token checks, the mapping of errors to answers, the Connexion compatibility
module (the one place that touches Connexion's private members), the docs UI and serving.

May import: :mod:`credmock.core`, :mod:`credmock.settings`, :mod:`credmock.store` and
:mod:`credmock.domain` (the bearer check asks the domain). Never the handlers, the observing
layer, the app or the tools.
"""
