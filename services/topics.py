"""The topics the pet steps emit and subscribe to (all under `py.`, docs/decisions.md#6).

Step configs spell their topics out, as Motia's examples do, so a reader sees a step's edges in
its own file; the domain layer names the follow-ups it asks for with these constants.
"""

PET_CREATED = "py.pet.created"
FEEDING_REMINDER_ENQUEUED = "py.feeding.reminder.enqueued"
FEEDING_REMINDER_COMPLETED = "py.feeding.reminder.completed"
STATUS_UPDATE_REQUESTED = "py.pet.status.update.requested"
TRANSITION_COMPLETED = "py.lifecycle.transition.completed"
TRANSITION_REJECTED = "py.lifecycle.transition.rejected"
PROFILE_REQUESTED = "py.ai.profile.enrichment.requested"
