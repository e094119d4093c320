"""The one rule of this small project: how a visit is written down."""


def visit_record(name: str) -> dict[str, str]:
    return {"name": name, "greeting": f"Welcome, {name}!"}
