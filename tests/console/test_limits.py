"""Rate limit, quota and approvedBy on the detail page, when the API has them."""

import pytest
from playwright.sync_api import expect

from conftest import sign_in, top_message, uniq

pytestmark = pytest.mark.limits


def test_limits_are_shown_and_edited_by_an_admin(page, server, api):
    k = api.project_key(uniq("lim"), name="limited")
    assert "rateLimit" in api.get(k["prefix"]), "the key object has no rateLimit yet"
    sign_in(page, server.admin_key, heading="Keys")
    page.goto(f"/#/keys/{k['prefix']}")
    expect(page.get_by_role("group", name="Rate limit")).to_be_visible()
    page.get_by_label("Requests").fill("100")
    page.get_by_label("Per seconds").fill("60")
    page.get_by_label("Remaining").fill("5000")
    page.get_by_label("Refill amount").fill("5000")
    page.get_by_label("Refill every").select_option("month")
    page.get_by_role("button", name="Save").click()
    expect(top_message(page)).to_contain_text("The API key has been updated.")
    expect(page.locator(".key-facts")).to_contain_text("100 requests per 60 seconds")
    expect(page.locator(".key-facts")).to_contain_text("5000 remaining, refilled with 5000 every month")
    held = api.get(k["prefix"])
    assert held["rateLimit"] == {"limit": 100, "periodSeconds": 60}
    assert held["quota"] == {"remaining": 5000, "refill": {"amount": 5000, "interval": "month"}}
    page.get_by_label("Requests").fill("")
    page.get_by_label("Per seconds").fill("")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".key-facts")).not_to_contain_text("100 requests per 60 seconds")
    expect(top_message(page)).to_contain_text("The API key has been updated.")
    assert api.get(k["prefix"])["rateLimit"] is None


def test_approved_by_is_shown(page, server, api):
    project = uniq("lim")
    member = api.team_key(roles=[f"project-member:{project}"])
    k = api.create(key=member["key"], name="approved one", projectId=project)
    api.patch(k["prefix"], status="Active")
    held = api.get(k["prefix"])
    assert held.get("approvedBy"), "the key object has no approvedBy yet"
    sign_in(page, server.admin_key, heading="Keys")
    page.goto(f"/#/keys/{k['prefix']}")
    expect(page.locator(".key-facts")).to_contain_text(held["approvedBy"])
