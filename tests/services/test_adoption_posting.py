"""The adoption posting a pet becoming available gets (services/adoption_posting.py): made from its
profile (or the fallback profile), with the fee rule and the adopter's requirements. No server."""

from __future__ import annotations

from typing import Any

import pytest

from services.adoption_posting import BASE_FEE, REQUIREMENTS, AdoptionPosting, adoption_fee, adoption_posting
from services.profile import fallback_profile

T0 = 1_640_995_200_000
PROFILE = {
    "bio": "Buddy is a gentle giant who loves long walks.",
    "breedGuess": "Golden Retriever Mix",
    "temperamentTags": ["friendly", "High energy", "loyal"],
    "adopterHints": "Best with an active family and a yard.",
}


def posting_for(**fields: Any) -> AdoptionPosting:
    pet = {
        "id": "7",
        "name": "Buddy",
        "species": "dog",
        "ageMonths": 24,
        "weightKg": None,
        "profile": PROFILE,
        **fields,
    }
    return adoption_posting(pet, T0)


def test_the_posting_is_made_from_the_profile() -> None:
    posting = posting_for()
    assert posting.title == "Buddy - Golden Retriever Mix, 2 years old, available for adoption"
    assert (posting.description, posting.breed, posting.adopterHints) == (
        PROFILE["bio"],
        "Golden Retriever Mix",
        PROFILE["adopterHints"],
    )
    assert posting.temperament == PROFILE["temperamentTags"]
    assert (posting.species, posting.ageMonths, posting.weightKg, posting.postedAt) == ("dog", 24, None, T0)


@pytest.mark.parametrize("profile", [None, {"bio": "hand-edited, incomplete"}])
def test_a_pet_without_a_usable_profile_is_posted_with_the_fallback_profile(profile: Any) -> None:
    posting = posting_for(name="Whiskers", species="cat", profile=profile)
    fallback = fallback_profile("Whiskers", "cat")
    assert (posting.description, posting.breed, posting.temperament) == (
        fallback.bio,
        fallback.breedGuess,
        list(fallback.temperamentTags),
    )
    assert posting.title == "Whiskers - Domestic Mixed Breed, 2 years old, available for adoption"


@pytest.mark.parametrize(
    ("months", "fee", "rule"),
    [
        (0, 200, "under a year"),
        (11.5, 200, "under a year"),
        (12, BASE_FEE, "base fee"),
        (95, BASE_FEE, "base fee"),
        (96, 75, "senior"),
        (200, 75, "senior"),
    ],
)
def test_the_fee_depends_on_age_and_says_why(months: float, fee: int, rule: str) -> None:
    assert adoption_fee(months)[0] == fee and rule in adoption_fee(months)[1]
    posting = posting_for(ageMonths=months)
    assert (posting.adoptionFee, posting.feeRule) == adoption_fee(months)


def test_the_fee_ignores_the_breed_guess() -> None:
    assert posting_for(profile={**PROFILE, "breedGuess": "Purebred Poodle"}).adoptionFee == posting_for().adoptionFee


def test_requirements_add_to_the_basics_from_temperament_size_and_age() -> None:
    assert (
        posting_for(profile={**PROFILE, "temperamentTags": ["friendly", "calm", "loyal"]}).requirements == REQUIREMENTS
    )
    energetic = posting_for().requirements
    assert energetic[: len(REQUIREMENTS)] == REQUIREMENTS and "An active home: daily exercise and play" in energetic
    shy = posting_for(profile={**PROFILE, "temperamentTags": ["Shy", "gentle", "quiet"]}).requirements
    assert any("calm, quiet home" in r for r in shy)
    assert any("large dog" in r for r in posting_for(weightKg=30).requirements)
    assert not any("large dog" in r for r in posting_for(weightKg=30, species="other").requirements)
    assert any("training" in r for r in posting_for(ageMonths=3).requirements)


@pytest.mark.parametrize(
    ("months", "words"),
    [(0, "newborn"), (1, "1 month old"), (7.5, "7 months old"), (12, "1 year old"), (30, "2 years old")],
)
def test_the_title_says_the_age_in_words(months: float, words: str) -> None:
    assert f", {words}, " in posting_for(ageMonths=months).title


def test_the_posting_is_plain_json() -> None:
    dumped = posting_for(weightKg=12.5).model_dump(mode="json")
    assert AdoptionPosting.model_validate(dumped) == posting_for(weightKg=12.5)
    assert dumped["weightKg"] == 12.5 and dumped["ageMonths"] == 24
