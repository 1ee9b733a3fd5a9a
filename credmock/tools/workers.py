"""``credmock serve --workers N``: N uvicorn worker processes, each with its own app over the
one shared store. uvicorn starts a worker by importing :func:`app`; the settings travel to it
in an environment variable, so a worker builds exactly the app the command line described."""

from __future__ import annotations

import base64
import os
import pickle

from credmock.app import CredmockApp, create_app
from credmock.http.serving import freeze_loaded_objects
from credmock.settings import Settings

SETTINGS_ENV = "CREDMOCK_WORKER_SETTINGS"


def pass_settings(settings: Settings) -> None:
    """Hand ``settings`` to the workers about to start (they inherit the environment)."""
    os.environ[SETTINGS_ENV] = base64.b64encode(pickle.dumps(settings)).decode("ascii")


def app() -> CredmockApp:
    """The app of one worker (uvicorn's factory). The parent filled or reset the store already."""
    settings: Settings = pickle.loads(base64.b64decode(os.environ[SETTINGS_ENV]))
    app = create_app(settings)
    freeze_loaded_objects()
    return app
