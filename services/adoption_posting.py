"""A pet's adoption posting, made from its profile: what the AdoptionPosting step writes when a pet
becomes `available` (docs/decisions.md#37).

Upstream's adoption posting step (MotiaDev/build-your-first-app) is the model: a title, the bio as
the description, breed, temperament and adopter hints from the profile, a fee rule and the
adopter's requirements. Here it is a pure function with a typed result: the pet and the time in,
the posting out, no clock and no I/O (tests/services/test_adoption_posting.py).

A pet without a usable profile (enrichment not done yet, a hand-edited file) is posted with the
fallback profile, the same text the enricher writes without a model. The fee does not depend on
the breed: the breed is the model's guess, and a guess should not cost an adopter money.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.profile import Profile, fallback_profile

BASE_FEE = 150
YOUNG_MONTHS = 12  # under a year: the most sought after, upstream's surcharge
YOUNG_SURCHARGE = 50
SENIOR_MONTHS = 96  # eight years or more: half the base fee, to help the ones who wait longest
SENIOR_FEE = BASE_FEE // 2
LARGE_DOG_KG = 25

REQUIREMENTS = [
    "Must be 21 years or older",
    "Valid photo ID",
    "Proof of current address",
    "Landlord approval (if renting)",
]
# (keyword a temperament tag starts a word with, what it asks of an adopter)
TEMPERAMENT_REQUIREMENTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("energ", "active", "playful"), "An active home: daily exercise and play"),
    (("shy", "timid", "anxious", "nervous"), "A calm, quiet home and patience while the pet settles in"),
    (("experience",), "Previous pet ownership experience preferred"),
)


class AdoptionPosting(BaseModel):
    """The posting stored under `pet["adoptionPosting"]`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str
    description: str = Field(description="The profile's bio.")
    species: str
    ageMonths: int | float  # as stored: 24 stays 24
    weightKg: int | float | None
    breed: str = Field(description="The profile's breed guess.")
    temperament: list[str] = Field(description="The profile's temperament tags.")
    adopterHints: str
    adoptionFee: int
    feeRule: str = Field(description="How the fee was set.")
    requirements: list[str]
    postedAt: int = Field(description="Epoch ms.")


def adoption_posting(pet: Mapping[str, Any], now: int) -> AdoptionPosting:
    """The posting for `pet` as it is now, posted at `now` (epoch ms)."""
    name, species = str(pet.get("name")), str(pet.get("species"))
    months, weight = _number(pet.get("ageMonths")) or 0, _number(pet.get("weightKg"))
    profile = _profile(pet)
    fee, rule = adoption_fee(months)
    return AdoptionPosting(
        title=f"{name} - {profile.breedGuess}, {_age_words(months)}, available for adoption",
        description=profile.bio,
        species=species,
        ageMonths=months,
        weightKg=weight,
        breed=profile.breedGuess,
        temperament=list(profile.temperamentTags),
        adopterHints=profile.adopterHints,
        adoptionFee=fee,
        feeRule=rule,
        requirements=_requirements(profile, species, months, weight),
        postedAt=now,
    )


def adoption_fee(age_months: float) -> tuple[int, str]:
    """The fee and the rule that set it, by age alone."""
    if age_months < YOUNG_MONTHS:
        return BASE_FEE + YOUNG_SURCHARGE, f"base fee {BASE_FEE} + {YOUNG_SURCHARGE} under a year"
    if age_months >= SENIOR_MONTHS:
        return SENIOR_FEE, f"senior ({SENIOR_MONTHS // 12} years or more): half the base fee of {BASE_FEE}"
    return BASE_FEE, f"base fee {BASE_FEE}"


def _number(value: object) -> int | float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _profile(pet: Mapping[str, Any]) -> Profile:
    try:
        return Profile.model_validate(pet.get("profile"))
    except ValidationError:
        return fallback_profile(str(pet.get("name")), str(pet.get("species")))


def _requirements(profile: Profile, species: str, months: float, weight: float | None) -> list[str]:
    extra = [
        need
        for words, need in TEMPERAMENT_REQUIREMENTS
        if any(re.search(rf"\b{re.escape(w)}", tag, re.IGNORECASE) for w in words for tag in profile.temperamentTags)
    ]
    if species == "dog" and weight is not None and weight >= LARGE_DOG_KG:
        extra.append("Room for a large dog: a secure yard or long daily walks")
    if months < YOUNG_MONTHS:
        extra.append("Time for training and socialisation")
    return [*REQUIREMENTS, *extra]


def _age_words(months: float) -> str:
    if months < YOUNG_MONTHS:
        whole = int(months)
        return "newborn" if whole == 0 else f"{whole} month{'s' if whole != 1 else ''} old"
    years = int(months // 12)
    return f"{years} year{'s' if years != 1 else ''} old"
