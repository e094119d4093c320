def can_access(subscription, auth_context):
    return subscription.get("groupId") == "open"


config = {
    "name": "privateNotes",
    "schema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
    "baseConfig": {"storageType": "default"},
    "canAccess": can_access,
}
