"""credmock: a contract-first, stateful mock of the Emporix credentials API."""

import warnings

# Connexion imports Starlette's test client at import time; its deprecation note is not ours.
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
