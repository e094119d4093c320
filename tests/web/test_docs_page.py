"""/docs in Chromium: Swagger UI from the Python package renders every API step, offline."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import expect

from steprunner.loader import load_steps
from tests.support.server import REPO_ROOT, Server


def test_the_docs_page_lists_every_api_step(page: Any, server_factory: Callable[..., Server]) -> None:
    server = server_factory(root=REPO_ROOT)
    api = [s for s in load_steps(REPO_ROOT) if s.type == "api"]
    page.goto(f"{server.base_url}/docs")
    blocks = page.locator(".opblock")
    expect(blocks).to_have_count(len(api))
    shown = sorted(
        (
            b.locator(".opblock-summary-method").inner_text(),
            b.locator(".opblock-summary-path").inner_text().replace("\u200b", ""),
        )
        for b in blocks.all()
    )
    expected = sorted((s.config.method, re.sub(r":(\w+)", r"{\1}", s.config.path)) for s in api)  # type: ignore[union-attr]
    assert shown == expected
    expect(page.locator(".info .title")).to_contain_text("motia-pet-store-py")
    assert page.locator(".errors-wrapper").count() == 0  # Swagger UI found nothing wrong with the document


def test_the_list_offers_the_statuses_and_species_to_choose_from(
    page: Any, server_factory: Callable[..., Server]
) -> None:
    from services.models import Species, Status

    server = server_factory(root=REPO_ROOT)
    page.goto(f"{server.base_url}/docs")
    listing = page.locator("#operations-pets-ListPets")
    listing.locator(".opblock-summary").click()
    listing.locator(".try-out__btn").click()
    for name, values in (("status", Status), ("species", Species)):
        options = listing.locator(f'tr[data-param-name="{name}"] select option')
        expect(options).not_to_have_count(0)
        offered = [text.strip() for text in options.all_inner_texts()]
        assert [v for v in offered if v != "--"] == [v.value for v in values], (name, offered)
