"""A pet's treatment plan, derived from its symptoms: what the TreatmentScheduler step writes when
a pet enters `under_treatment` (docs/decisions.md#37).

Upstream's treatment scheduler (MotiaDev/build-your-first-app) is the model: the first matching
symptom picks the treatment type (bleeding before breathing before pain ...), some symptoms make
it urgent (seen in 2 hours instead of 24, with a nurse), and pain, infection, fever and anxiety
each add a medication. Here it is a pure function with a typed result: the pet and the time in,
the plan out, no clock and no I/O, so every rule is unit-tested (tests/services/test_treatment_plan.py).

Medication is named by its class, never by a human drug: upstream's ibuprofen and acetaminophen
are toxic to dogs and cats. The dose is the veterinarian's, by the pet's weight when it is known.
Symptoms are free text from staff; they are matched by word start (`pain` finds "painful", not
"Spain"), case-insensitively, and copied into the plan only as data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.decisions import DAY_MS

HOUR_MS = DAY_MS // 24


class Urgency(StrEnum):
    URGENT = "urgent"
    NORMAL = "normal"


# (keyword, treatment type): the first keyword any symptom mentions decides, in this order.
TREATMENT_TYPES: tuple[tuple[str, str], ...] = (
    ("bleeding", "Emergency Surgery"),
    ("breathing", "Respiratory Treatment"),
    ("pain", "Pain Management"),
    ("infection", "Antibiotic Treatment"),
    ("fever", "Fever Management"),
)
GENERAL_EXAMINATION = "General Medical Examination"
# A symptom mentioning any of these makes the plan urgent.
URGENT_KEYWORDS = ("bleeding", "breathing", "severe", "unconscious", "seizure")
# (keyword, medication, instructions), in the order they are listed.
MEDICATIONS: tuple[tuple[str, str, str], ...] = (
    ("pain", "Pain relief (veterinary NSAID)", "1 dose every 12 hours with food"),
    ("infection", "Antibiotics", "1 dose every 12 hours for 7 days"),
    ("fever", "Fever reducer (veterinary)", "1 dose every 8 hours while the fever lasts"),
    ("anxiety", "Anti-anxiety medication", "1 dose every 12 hours during stressful periods"),
)
# When a plan starts, and the check-ups after the start.
START_AFTER_MS = {Urgency.URGENT: 2 * HOUR_MS, Urgency.NORMAL: DAY_MS}
CHECK_UPS_AFTER_MS = {Urgency.URGENT: (DAY_MS, 3 * DAY_MS), Urgency.NORMAL: (7 * DAY_MS,)}
STAFF = {Urgency.URGENT: ["veterinarian", "nurse"], Urgency.NORMAL: ["veterinarian"]}
DURATION = {Urgency.URGENT: "2-4 hours", Urgency.NORMAL: "1-2 hours"}


class Medication(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    instructions: str


class CheckUp(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    at: int = Field(description="Epoch ms.")
    purpose: str


class TreatmentSchedule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    startsAt: int = Field(description="Epoch ms: planning time + 2 h (urgent) or + 24 h (normal).")
    followUps: list[CheckUp] = Field(description="Check-ups after the start: 1 and 3 days (urgent), 7 days (normal).")


class TreatmentPlan(BaseModel):
    """The plan stored under `pet["treatmentPlan"]`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    treatmentType: str = Field(
        description="From the first matching symptom: Emergency Surgery, Respiratory Treatment, ..."
    )
    urgency: Urgency
    symptoms: list[str] = Field(description="The symptoms the plan was derived from.")
    medication: list[Medication]
    requiredStaff: list[str]
    estimatedDuration: str
    schedule: TreatmentSchedule
    plannedAt: int = Field(description="Epoch ms: when the plan was made.")


def treatment_plan(pet: Mapping[str, Any], now: int) -> TreatmentPlan:
    """The plan for `pet` as it is now, made at `now` (epoch ms)."""
    symptoms = [str(s) for s in pet.get("symptoms") or []]
    urgency = Urgency.URGENT if any(_mentions(symptoms, word) for word in URGENT_KEYWORDS) else Urgency.NORMAL
    treatment = next((kind for word, kind in TREATMENT_TYPES if _mentions(symptoms, word)), GENERAL_EXAMINATION)
    dose = _dose_basis(pet.get("weightKg"))
    medication = [
        Medication(name=name, instructions=f"{how}; {dose}")
        for word, name, how in MEDICATIONS
        if _mentions(symptoms, word)
    ]
    starts_at = now + START_AFTER_MS[urgency]
    check_ups = [
        CheckUp(at=starts_at + after, purpose=f"Check-up {_days(after)} after the treatment starts")
        for after in CHECK_UPS_AFTER_MS[urgency]
    ]
    return TreatmentPlan(
        treatmentType=treatment,
        urgency=urgency,
        symptoms=symptoms,
        medication=medication,
        requiredStaff=list(STAFF[urgency]),
        estimatedDuration=DURATION[urgency],
        schedule=TreatmentSchedule(startsAt=starts_at, followUps=check_ups),
        plannedAt=now,
    )


def _mentions(symptoms: Sequence[str], keyword: str) -> bool:
    pattern = re.compile(rf"\b{re.escape(keyword)}", re.IGNORECASE)
    return any(pattern.search(symptom) for symptom in symptoms)


def _days(ms: int) -> str:
    days = ms // DAY_MS
    return f"{days} day{'s' if days != 1 else ''}"


def _dose_basis(weight: object) -> str:
    if isinstance(weight, (int, float)) and not isinstance(weight, bool) and weight > 0:
        return f"dose prescribed by the veterinarian for {weight:g} kg"
    return "weigh the pet first: the veterinarian prescribes the dose by weight"
