"""The ceiling: the bench's request answered by a bare Starlette app on uvicorn with uvloop.

It does what any server of that request must do and nothing more: check that a bearer token
is there, parse the JSON body (an object with an ``email`` string), answer 204. No contract,
no state. What Python serves on this machine is the measure of how close credmock gets.

Run: ``python bench/ceiling.py PORT``.
"""

from __future__ import annotations

import json
import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def request_password_reset(request: Request) -> Response:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return Response(status_code=401)
    try:
        body = json.loads(await request.body())
    except ValueError:
        return Response(status_code=400)
    if not isinstance(body, dict) or not isinstance(body.get("email"), str):
        return Response(status_code=400)
    return Response(status_code=204)


app = Starlette(routes=[Route("/customer/{tenant}/password/reset", request_password_reset, methods=["POST"])])

if __name__ == "__main__":
    uvicorn.run(
        app, host="127.0.0.1", port=int(sys.argv[1]), loop="uvloop", log_level="warning", access_log=False
    )
