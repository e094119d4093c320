"""The stream `petTimeline`: a pet's timeline, one item per event of its life (docs/decisions.md#20).

Group = the pet's id; item ids are the pet's own sequence, zero-padded, so they sort in the order
things happened. Each item is `{id, at, kind, message, data}`. Items are written only through
services/timeline.py (with the change they tell of: docs/decisions.md#38), read by
GET /py/pets/:id/timeline, and purged with the pet by the reaper. Watch one pet live with Motia's
stream client: `subscribeGroup("petTimeline", petId)` (README). A join's sync carries the newest
`syncLimit` items (steprunner's key; Motia ignores it and sends them all): older ones page over HTTP.
"""

from services.models import TimelineEntry, schema
from services.paging import MAX_PAGE_SIZE

config = {
    "name": "petTimeline",
    "schema": schema(TimelineEntry),
    "baseConfig": {"storageType": "default"},
    "syncLimit": MAX_PAGE_SIZE,
}
