"""The handlers (installed as ``credmock.handlers``): one small function per operation, named as
its operationId, that reads the request by wire names, calls the domain rule of the same name
and shapes the answer.

May import: :mod:`credmock.core`, :mod:`credmock.settings`, :mod:`credmock.domain`,
:mod:`credmock.mail` (the outbox the mock API reads), :mod:`credmock.observe` (the journal and
faults of the mock API) and :mod:`credmock.http`. Never the app or the tools.
"""
