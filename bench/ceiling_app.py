"""The ceiling: bare Starlette answering a constant JSON body, served as steprunner serves steps.

Same server stack as `python -m steprunner dev` (uvicorn, uvloop, httptools, no access log,
one process), none of the runtime: no step, no context, no trace, no store. Whatever our
GET /py/pets/:id reaches is compared with this. The body has the size of a stored pet, so
both send about as many bytes.

Run: `python bench/ceiling_app.py PORT`.
"""

from __future__ import annotations

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

BODY = {
    "id": "5",
    "name": "Milo 5",
    "species": "cat",
    "ageMonths": 6,
    "status": "in_quarantine",
    "createdAt": 1700000000000,
    "updatedAt": 1700000000012,
    "notes": "Welcome to our pet store! We'll take great care of this pet.",
    "nextFeedingAt": 1700086400000,
    "deletedAt": None,
    "purgeAt": None,
    "profile": {
        "bio": (
            "Milo 5 is a lovely cat waiting for a loving home. "
            "Our staff are still getting to know Milo 5 and will share more about their personality soon."
        ),
        "breedGuess": "Domestic Mixed Breed",
        "temperamentTags": ["friendly", "curious", "adaptable"],
        "adopterHints": (
            "Visit Milo 5 at the shelter to see whether you are a good match. "
            "Our staff can tell you about Milo 5's care needs, routine and history."
        ),
    },
    "lastStatusRequestId": None,
}


async def constant(_: Request) -> JSONResponse:
    return JSONResponse(BODY)


async def health(_: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[Route("/py/pets/{id}", constant), Route("/__steprunner/health", health)])

if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )
