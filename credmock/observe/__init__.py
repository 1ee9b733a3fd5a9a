"""What the mock shows of itself: the exchange of each request as it passes (its route, status,
reason), the request log, the journal (``/_mock/requests``), the API coverage of the clients
(``/_mock/coverage``, counted into the store through the ``CoverageCounts`` protocol), injected
faults (``/_mock/faults``), the inbox page, and the
:class:`~credmock.observe.inspection.Inspection` that installs them.

May import: :mod:`credmock.core`, :mod:`credmock.settings` and :mod:`credmock.http` (the
helpers that read a request's scope). Never the domain, the handlers, the app or the tools.
"""
