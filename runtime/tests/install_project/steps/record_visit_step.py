from services.visits import visit_record

config = {
    "type": "event",
    "name": "RecordVisit",
    "subscribes": ["visit.requested"],
    "emits": [],
    "flows": ["visits"],
}


async def handler(data, context):
    await context.state.set("visits", data["name"], visit_record(data["name"]))
