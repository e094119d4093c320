config = {
    "name": "petStatus",
    "schema": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "status": {"type": "string", "enum": ["available", "pending", "adopted"]},
        },
        "required": ["name", "status"],
    },
    "baseConfig": {"storageType": "default"},
}
