"""The treatment plan and the adoption posting, as a curl user sees them (docs/decisions.md#37):
a pet that goes under treatment gets a plan derived from its symptoms, a pet that becomes
available gets a posting from its profile, once per stay, and a missing one is asked for again.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from services.decisions import DAY_MS
from services.profile import fallback_profile
from services.treatment_plan import HOUR_MS
from steprunner.testing.waiting import wait_until
from tests.pets.conftest import steprunner_only
from tests.pets.pets_api import Pet, admitted, console_has, get, move_to, put, store_of, wait_for
from tests.support.server import Server, run_cli

RUNTIMES = ("steprunner", "motia")


def has_plan(pet: Pet) -> bool:
    return pet["status"] == "under_treatment" and pet["treatmentPlan"] is not None


def has_posting(pet: Pet) -> bool:
    return pet["status"] == "available" and pet["adoptionPosting"] is not None


def test_a_sick_pet_under_treatment_gets_a_plan_from_its_symptoms(server_factory: Callable[..., Server]) -> None:
    server = server_factory()
    with server.client() as client:
        pet = admitted(client, "Rex", weightKg=12, symptoms=["bleeding from the ear", "high fever"])
        assert pet["treatmentPlan"] is None
        move_to(client, pet["id"], "ill", then="under_treatment")
        pet = wait_for(client, pet["id"], has_plan, "Rex's treatment plan")
    plan = pet["treatmentPlan"]
    assert (plan["treatmentType"], plan["urgency"]) == ("Emergency Surgery", "urgent")
    assert plan["symptoms"] == ["bleeding from the ear", "high fever"]
    assert plan["schedule"]["startsAt"] == plan["plannedAt"] + 2 * HOUR_MS
    assert [c["at"] for c in plan["schedule"]["followUps"]] == [
        plan["schedule"]["startsAt"] + DAY_MS,
        plan["schedule"]["startsAt"] + 3 * DAY_MS,
    ]
    (medication,) = plan["medication"]
    assert medication["name"] == "Fever reducer (veterinary)" and "12 kg" in medication["instructions"]
    assert pet["createdAt"] <= plan["plannedAt"] <= pet["updatedAt"]
    assert console_has(server.logs(), f'📅 Treatment scheduled {{"petId": "{pet["id"]}", "urgency": "urgent"')


def test_an_available_pet_gets_a_posting_from_its_profile(server_factory: Callable[..., Server]) -> None:
    server = server_factory()  # no OpenAI key: the profile is the fallback one
    with server.client() as client:
        pet = admitted(client, "Whiskers", "cat")
        assert pet["adoptionPosting"] is None
        move_to(client, pet["id"], "healthy", then="available")
        pet = wait_for(client, pet["id"], has_posting, "Whiskers' adoption posting")
    posting, profile = pet["adoptionPosting"], pet["profile"]
    assert profile == fallback_profile("Whiskers", "cat").model_dump()
    assert posting["title"] == f"Whiskers - {profile['breedGuess']}, 2 years old, available for adoption"
    assert (posting["description"], posting["breed"], posting["temperament"], posting["adopterHints"]) == (
        profile["bio"],
        profile["breedGuess"],
        profile["temperamentTags"],
        profile["adopterHints"],
    )
    assert (posting["adoptionFee"], posting["feeRule"]) == (150, "base fee 150")
    assert "Must be 21 years or older" in posting["requirements"]
    line = f'📝 Adoption posting created {{"petId": "{pet["id"]}", "title": "{posting["title"]}", "adoptionFee": 150}}'
    assert console_has(server.logs(), line)


def test_going_under_treatment_again_replaces_the_plan(server_factory: Callable[..., Server]) -> None:
    server = server_factory()
    with server.client() as client:
        pet = admitted(client, "Bella", symptoms=["limping"])
        move_to(client, pet["id"], "ill", then="under_treatment")
        first = wait_for(client, pet["id"], has_plan, "Bella's first plan")["treatmentPlan"]
        assert (first["treatmentType"], first["urgency"]) == ("General Medical Examination", "normal")

        move_to(client, pet["id"], "recovered", then="available")
        wait_for(client, pet["id"], has_posting, "Bella's posting")
        assert put(client, pet["id"], {"symptoms": ["ear infection"]}).status_code == 200
        move_to(client, pet["id"], "ill", then="under_treatment")
        again = wait_for(
            client, pet["id"], lambda p: has_plan(p) and p["treatmentPlan"] != first, "Bella's second plan"
        )
    second = again["treatmentPlan"]
    assert (second["treatmentType"], second["symptoms"]) == ("Antibiotic Treatment", ["ear infection"])
    assert [m["name"] for m in second["medication"]] == ["Antibiotics"]
    assert second["plannedAt"] >= first["plannedAt"]


def test_a_redelivered_request_changes_nothing(server_factory: Callable[..., Server], runtime: str) -> None:
    steprunner_only(
        runtime, "duplicate events are injected with `python -m steprunner emit`; Motia keeps its queue in Redis"
    )
    server = server_factory()
    with server.client() as client:
        sick = admitted(client, "Max", symptoms=["pain"])
        move_to(client, sick["id"], "ill", then="under_treatment")
        sick = wait_for(client, sick["id"], has_plan, "Max's plan")
        well = admitted(client, "Luna")
        move_to(client, well["id"], "healthy", then="available")
        well = wait_for(client, well["id"], has_posting, "Luna's posting")

        for topic, pet_id in (("py.treatment.required", sick["id"]), ("py.adoption.posting.requested", well["id"])):
            result = run_cli("emit", "--no-run", topic, json.dumps({"petId": pet_id}), data_dir=server.data_dir)
            assert result.returncode == 0, result.stderr
        wait_until(
            lambda: "pet already has its treatmentPlan" in server.logs(),
            message="the copied treatment request to be skipped",
        )
        wait_until(
            lambda: "pet already has its adoptionPosting" in server.logs(),
            message="the copied posting request to be skipped",
        )
        assert get(client, sick["id"]) == sick and get(client, well["id"]) == well
        # A posting request for a pet that is not available (Max is under treatment) writes nothing.
        run_cli(
            "emit",
            "--no-run",
            "py.adoption.posting.requested",
            json.dumps({"petId": sick["id"]}),
            data_dir=server.data_dir,
        )
        wait_until(
            lambda: "pet is under_treatment now, not available" in server.logs(),
            message="the late posting request to be skipped",
        )
        assert get(client, sick["id"]) == sick

        # A malformed request: an ERROR line, and nothing else happens (retrying can't fix it).
        run_cli("emit", "--no-run", "py.treatment.required", json.dumps({"pet": sick["id"]}), data_dir=server.data_dir)
        wait_until(
            lambda: "❌ Treatment request is malformed" in server.logs(), message="the malformed request to be dropped"
        )
    logs = server.logs()
    assert logs.count("📅 Treatment scheduled") == 1 and logs.count("📝 Adoption posting created") == 1
    assert any("ERROR" in line and "❌ Treatment request is malformed" in line for line in logs.splitlines())


def test_a_missing_plan_is_asked_for_again_by_the_reconciler(
    server_factory: Callable[..., Server], runtime: str
) -> None:
    steprunner_only(runtime, "the reconciler is run at once with `python -m steprunner cron run`")
    server = server_factory()
    with server.client() as client:
        pet = admitted(client, "Kiwi", "bird", symptoms=["laboured breathing"])
        move_to(client, pet["id"], "ill", then="under_treatment")
        wait_for(client, pet["id"], has_plan, "Kiwi's plan")
        # The plan lost, as a crash between the status write and the request would leave it (by
        # hand, as the spec sets purgeAt; the store's lock makes that safe while the server runs).
        store = store_of(server.data_dir)
        store.update(pet["id"], {"treatmentPlan": None})
        store.close()
        assert get(client, pet["id"])["treatmentPlan"] is None

        result = run_cli(
            "cron", "run", "PetReconciler", data_dir=server.data_dir, env={"PET_RECONCILE_GRACE_SECONDS": "0"}
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert '"topics": ["py.treatment.required"]' in result.stdout + result.stderr
        healed = wait_for(client, pet["id"], has_plan, "Kiwi's plan to be written again")
    assert healed["treatmentPlan"]["treatmentType"] == "Respiratory Treatment"
