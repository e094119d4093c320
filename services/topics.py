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

# The routing agents (docs/decisions.md#15-17): a review request goes to its agent, which emits
# one of its declared decisions; the orchestrator applies it.
HEALTH_REVIEW_REQUESTED = "py.health.review.requested"
ADOPTION_REVIEW_REQUESTED = "py.adoption.review.requested"
HEALTH_TREATMENT_REQUIRED = "py.health.treatment_required"
HEALTH_NO_TREATMENT_NEEDED = "py.health.no_treatment_needed"
ADOPTION_READY = "py.adoption.ready"
ADOPTION_NEEDS_DATA = "py.adoption.needs_data"
# What a pet entering under_treatment / available is owed: its treatment plan / adoption posting.
TREATMENT_REQUIRED = "py.treatment.required"
ADOPTION_POSTING_REQUESTED = "py.adoption.posting.requested"
# What the care steps wrote (docs/decisions.md#37): `{petId, plan, at}` / `{petId, posting, at}`.
TREATMENT_SCHEDULED = "py.treatment.scheduled"
ADOPTION_POSTED = "py.adoption.posted"
