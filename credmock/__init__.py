"""credmock: a contract-first, stateful mock of the Emporix credentials API."""
