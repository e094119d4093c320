config = {
    "type": "event",
    "name": "ApplyStatus",
    "subscribes": ["status.requested"],
    "emits": [],
    "flows": ["streams"],
}


async def handler(data, context):
    await context.streams.petStatus.set(data["groupId"], data["id"], data["item"])
