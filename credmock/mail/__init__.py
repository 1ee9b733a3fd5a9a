"""Mail: writing the emails that carry one-time tokens, keeping them in the outbox (in the store)
and delivering them to an SMTP server.

May import: :mod:`credmock.core`, :mod:`credmock.settings` and :mod:`credmock.store`. The domain
never imports it: it is handed the :class:`~credmock.mail.outbox.Outbox`, which fits the
protocol the domain declares (:class:`credmock.domain.ports.Outbox`).

- :mod:`~credmock.mail.compose`: the words of each email, text and HTML, and its link;
- :mod:`~credmock.mail.outbox`: the outbox the mock API and the inbox page read;
- :mod:`~credmock.mail.smtp`: the background delivery to a real SMTP server.
"""
