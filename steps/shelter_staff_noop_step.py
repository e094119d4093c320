"""ShelterStaff: the people at the shelter, drawn as a node in the Workbench flow.

Nothing runs here. Staff take pets in, decide health checks, treatment and adoptions, and
delete or restore records, and ask the agents for reviews, all through the HTTP API; the virtual topics only draw those
edges in the flow view.
"""

config = {
    "type": "noop",
    "name": "ShelterStaff",
    "description": (
        "Shelter staff: intake, health checks, treatment and adoption decisions, deletions (via the HTTP API)"
    ),
    "virtualEmits": [
        {"topic": "py.staff.pet.intake", "label": "Take a pet in"},
        {"topic": "py.staff.pet.update", "label": "Health check / adoption decision"},
        {"topic": "py.staff.pet.delete", "label": "Delete a record"},
        {"topic": "py.staff.pet.restore", "label": "Restore a record"},
        {"topic": "py.staff.pet.review", "label": "Ask for a health / adoption review"},
    ],
    "virtualSubscribes": [],
    "flows": ["pets"],
}
