"""credmock: a contract-first, stateful mock of the Emporix credentials API.

The package is grouped by concern (docs/contributing.md, "Architecture"): ``core`` (shared
values), ``settings``, ``store`` (state), ``domain`` (rules), ``mail`` (emails), ``http`` (the
request pipeline), ``observe`` (what the mock shows of itself), ``handlers``, ``app`` (where they
are put together) and ``tools`` (the command line, proxy, verify, the pytest plugin).
"""
