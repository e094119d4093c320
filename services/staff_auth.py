"""Staff only: with `STAFF_API_KEY` set, changing data takes `Authorization: Bearer <key>`.

Motia API middleware, listed in the `middleware` of every step that changes data (create, update,
delete, restore), so the same files enforce it on steprunner and on real Motia. Reads of `/py/pets`
stay public: an adoption listing is meant to be seen (docs/decisions.md#22). Without the variable
nothing is checked (a developer's machine, bound to loopback); steprunner refuses to bind to a
non-loopback HOST without it (or with one under 16 characters). The header is read as the runtime
reads it, one rule everywhere: the key's UTF-8 bytes, in constant time (steprunner.staff_key; real
Motia's Python venv installs steprunner too, from requirements.txt).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from steprunner.staff_key import is_staff_key, sent_in_header

if TYPE_CHECKING:
    from steprunner.step_types import ApiNext, ApiRequest, ApiResponse, Context


async def require_staff(req: ApiRequest, context: Context, next_fn: ApiNext) -> ApiResponse:
    key = os.environ.get("STAFF_API_KEY")
    if not key:
        return await next_fn()
    if not is_staff_key(sent_in_header((req.get("headers") or {}).get("authorization")), key):
        return {
            "status": 401,
            "headers": {"WWW-Authenticate": 'Bearer realm="staff"'},
            "body": {"message": "Staff only: send Authorization: Bearer <STAFF_API_KEY>"},
        }
    return await next_fn()


require_staff.openapi = {  # type: ignore[attr-defined]  # read by steprunner's OpenAPI document
    "parameters": [
        {
            "name": "Authorization",
            "in": "header",
            "required": False,
            "schema": {"type": "string"},
            "description": "`Bearer <STAFF_API_KEY>`: required when the server has a staff key set.",
        }
    ],
    "responses": {"401": "The server has a staff key and the request did not send it (`Authorization: Bearer <key>`)."},
}
