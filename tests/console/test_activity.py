"""History of a key and the Activity page (the audit routes)."""

import pytest
from playwright.sync_api import expect

from conftest import shot, sign_in, uniq

pytestmark = pytest.mark.audit


def test_a_keys_history_lists_what_was_done_newest_first(page, server, api):
    project = uniq("hist")
    k = api.project_key(project, name="audited")
    api.patch(k["prefix"], status="Disabled")
    api.patch(k["prefix"], status="Active")
    sign_in(page, server.admin_key, heading="Keys")
    page.goto(f"/#/keys/{k['prefix']}")
    page.get_by_role("link", name="History").click()
    rows = page.locator("#history-rows tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("enabled")
    expect(rows.nth(1)).to_contain_text("disabled")
    expect(rows.nth(1)).to_contain_text("Active → Disabled")
    expect(rows.nth(2)).to_contain_text("created")
    shot(page, server, "history")
    records = api.ok("GET", f"/keys/{k['prefix']}/audit")["items"]
    assert [r["action"] for r in records] == ["enabled", "disabled", "created"]


def test_activity_filters_by_project_action_and_actor(page, server, api):
    project = uniq("act")
    pa = api.team_key(roles=[f"project-admin:{project}"])
    a = api.create(key=pa["key"], name="first", projectId=project)
    api.create(key=pa["key"], name="second", projectId=project)
    api.patch(a["prefix"], key=pa["key"], status="Disabled")
    sign_in(page, pa["key"], heading="API keys")
    page.get_by_role("link", name="Activity").click()
    expect(page.get_by_role("heading", name="Activity")).to_be_visible()
    rows = page.locator("#activity-rows tr")
    expect(rows).to_have_count(3)
    page.get_by_label("Action").select_option("disabled")
    page.get_by_role("button", name="Apply filters").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("first")
    page.get_by_label("Action").select_option("")
    page.get_by_label("Actor").fill(server.api.get(a["prefix"])["prefix"])  # nobody acted as that key
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_text("No activity matches these filters.")).to_be_visible()
    page.get_by_label("Actor").fill(pa["prefix"])
    page.get_by_label("Since").fill("2000-01-01T00:00")
    page.get_by_role("button", name="Apply filters").click()
    expect(rows).to_have_count(3)
    shot(page, server, "activity")
    held = api.ok("GET", f"/audit?projectId={project}&actor={pa['prefix']}")["items"]
    assert len(held) == 3


def test_admin_sees_the_whole_team_and_loads_more(page, server, api):
    project = uniq("many")
    k = api.project_key(project, name="busy key")
    for i in range(55):
        api.patch(k["prefix"], description=f"edit {i}")
    sign_in(page, server.admin_key, heading="Keys")
    page.get_by_role("link", name="Activity").click()
    page.get_by_label("Project", exact=True).fill(project)
    page.get_by_role("button", name="Apply filters").click()
    rows = page.locator("#activity-rows tr")
    expect(rows).to_have_count(50)
    page.get_by_role("button", name="Load more").click()
    expect(rows).to_have_count(56)
    expect(rows.last).to_contain_text("created")
