"""The AI-written adoption profile of a pet: its shape, its limits, and the fallback.

A profile is the four fields of the spec (`bio`, `breedGuess`, `temperamentTags`,
`adopterHints`) and nothing else. Whatever a language model answers is untrusted text, so it
passes through `profile_from_answer`, which keeps only those four fields and clips them to
the limits below before the `Profile` model validates them. `fallback_profile` is what a pet
gets when there is no key or the model call fails; it is always a valid `Profile`.

Why these limits: the spec asks for a 2-3 sentence bio and a few lines of practical hints;
its own examples are about 200 characters each, so 500 leaves room for a generous answer
while stopping a runaway model from bloating `pets.json`, which every request reads. A
breed guess is a short label ("Golden Retriever Mix"), and a temperament tag is a word or
two ("friendly", "good with kids"); 3 to 5 tags is the spec's own rule.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from services.validation import one_line

BIO_MAX_CHARS = 500
BREED_GUESS_MAX_CHARS = 60
TAG_MAX_CHARS = 24
MIN_TAGS = 3
MAX_TAGS = 5
ADOPTER_HINTS_MAX_CHARS = 500

PROFILE_FIELDS = ("bio", "breedGuess", "temperamentTags", "adopterHints")

Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TAG_MAX_CHARS)]


class Profile(BaseModel):
    """A pet's adoption profile, exactly as stored under `pet["profile"]`."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    bio: str = Field(min_length=1, max_length=BIO_MAX_CHARS)
    breedGuess: str = Field(min_length=1, max_length=BREED_GUESS_MAX_CHARS)
    temperamentTags: list[Tag] = Field(min_length=MIN_TAGS, max_length=MAX_TAGS)
    adopterHints: str = Field(min_length=1, max_length=ADOPTER_HINTS_MAX_CHARS)

    @field_validator("temperamentTags")
    @classmethod
    def _tags_are_distinct(cls, tags: list[str]) -> list[str]:
        """ "friendly" and "Friendly" are one trait; listing it twice says nothing new."""
        seen = [tag.casefold() for tag in tags]
        if len(set(seen)) != len(seen):
            raise ValueError("temperament tags must be distinct")
        return tags


class ProfileAnswerError(ValueError):
    """A model's answer from which no valid profile can be made; the message says why."""


def profile_from_answer(answer: object) -> Profile:
    """Make a `Profile` from whatever the model answered, or raise `ProfileAnswerError`.

    Keeps only the four profile fields (anything else the model added is dropped), collapses
    whitespace, clips overlong text at a sentence or word boundary, and keeps the first 3-5
    distinct tags that are short enough to be tags (a tag list given as one comma-separated
    string is split). A missing field, a field of the wrong type, or fewer than 3 usable tags
    cannot be repaired and is an error.
    """
    if not isinstance(answer, Mapping):
        raise ProfileAnswerError(f"expected a JSON object, got {type(answer).__name__}")
    fields = _unwrap(answer)
    missing = [name for name in PROFILE_FIELDS if name not in fields]
    if missing:
        raise ProfileAnswerError(f"missing field(s): {', '.join(missing)}")
    cleaned: dict[str, object] = {
        "bio": clip_text(fields["bio"], BIO_MAX_CHARS),
        "breedGuess": clip_text(fields["breedGuess"], BREED_GUESS_MAX_CHARS),
        "temperamentTags": _clean_tags(fields["temperamentTags"]),
        "adopterHints": clip_text(fields["adopterHints"], ADOPTER_HINTS_MAX_CHARS),
    }
    try:
        return Profile.model_validate(cleaned)
    except ValidationError as exc:
        raise ProfileAnswerError(one_line(exc, whole="profile")) from None


def fallback_profile(name: str, species: str) -> Profile:
    """The profile a pet gets when the model can't write one: friendly, generic, honest.

    It says nothing the shelter does not know (no invented breed or character), so staff
    and adopters can tell it apart from a real profile at a glance.
    """
    pet_name = clip_text(name, 40) if isinstance(name, str) and name.strip() else "This pet"
    kind = _SPECIES_WORDS.get(species, "pet")
    return Profile(
        bio=(
            f"{pet_name} is a lovely {kind} waiting for a loving home. Our staff are still "
            f"getting to know {pet_name} and will share more about their personality soon."
        ),
        breedGuess=_FALLBACK_BREEDS.get(species, "Unknown"),
        temperamentTags=["friendly", "curious", "adaptable"],
        adopterHints=(
            f"Visit {pet_name} at the shelter to see whether you are a good match. Our staff "
            f"can tell you about {pet_name}'s care needs, routine and history."
        ),
    )


_SPECIES_WORDS = {"dog": "dog", "cat": "cat", "bird": "bird", "other": "companion"}
_FALLBACK_BREEDS = {
    "dog": "Mixed Breed",
    "cat": "Domestic Mixed Breed",
    "bird": "Unknown Bird Breed",
    "other": "Unknown",
}
_WHITESPACE = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")


def _unwrap(answer: Mapping[str, object]) -> Mapping[str, object]:
    """Models sometimes wrap the object once, as `{"profile": {...}}`; look inside then."""
    inner = answer.get("profile")
    if not any(name in answer for name in PROFILE_FIELDS) and isinstance(inner, Mapping):
        return inner
    return answer


def clip_text(value: object, limit: int) -> object:
    """Collapse whitespace and shorten text over `limit`, ending on a sentence if one fits.

    Non-strings are returned untouched so that the model's validation rejects them by name.
    """
    if not isinstance(value, str):
        return value
    text = _WHITESPACE.sub(" ", value).strip()
    if len(text) <= limit:
        return text
    ends = [m.end() for m in _SENTENCE_END.finditer(text, 0, limit + 1) if m.end() <= limit]
    if ends and ends[-1] >= limit // 2:
        return text[: ends[-1]]
    head = text[: limit - 1]
    space = head.rfind(" ")
    if space >= limit // 2:
        head = head[:space]
    return head.rstrip(" ,;:-") + "…"


def _clean_tags(value: object) -> object:
    """First distinct usable tags, at most `MAX_TAGS`; overlong "tags" are sentences, dropped."""
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list):
        return value
    tags: list[str] = []
    seen: set[str] = set()
    for item in value:
        if not isinstance(item, str):
            continue
        tag = _WHITESPACE.sub(" ", item).strip()
        if not tag or len(tag) > TAG_MAX_CHARS or tag.casefold() in seen:
            continue
        seen.add(tag.casefold())
        tags.append(tag)
        if len(tags) == MAX_TAGS:
            break
    if len(tags) < MIN_TAGS:
        raise ProfileAnswerError(
            f"temperamentTags: need {MIN_TAGS} to {MAX_TAGS} distinct tags of at most "
            f"{TAG_MAX_CHARS} characters, got {len(tags)} usable"
        )
    return tags
