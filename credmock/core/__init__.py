"""The values every layer shares, and nothing else: the models (customers, tokens, emails and
their delivery), the API errors, the clock, the token source, password hashing, email addresses
and the fixtures file's reader. It imports nothing of credmock outside itself, and no web
framework: the store, the domain and the mail layer all stand on it.

- :mod:`~credmock.core.models`: customers, profiles, addresses, access and email tokens;
- :mod:`~credmock.core.messages`: the emails sent and their SMTP delivery status;
- :mod:`~credmock.core.exceptions`: one class per API error, with its status and body;
- :mod:`~credmock.core.clock`, :mod:`~credmock.core.token_source`: time and randomness, injected;
- :mod:`~credmock.core.passwords`, :mod:`~credmock.core.email_address`: hashing, addresses;
- :mod:`~credmock.core.visible_text`: client text made safe for a log line or a mail header;
- :mod:`~credmock.core.seeding`: the fixtures file and the fake customers, read into seeds.
"""
