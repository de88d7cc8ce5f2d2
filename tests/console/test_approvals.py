"""Approvals: a project admin (or an admin) approves (→ Active) or rejects (→ Rejected)."""

from playwright.sync_api import expect

from conftest import row, shot, sign_in, top_message, uniq


def test_project_admin_approves_and_rejects_pending_keys(page, server, api):
    project = uniq("appr")
    member = api.team_key(roles=[f"project-member:{project}"])
    wanted = api.create(key=member["key"], name="keep this", projectId=project)
    unwanted = api.create(key=member["key"], name="drop that", projectId=project)
    assert wanted["status"] == unwanted["status"] == "Pending"
    pa = api.team_key(roles=[f"project-admin:{project}"])
    sign_in(page, pa["key"], heading="API keys")
    page.get_by_role("link", name="Approvals").click()
    expect(page.get_by_role("heading", name="Approvals")).to_be_visible()
    expect(page.locator("#approval-rows tr")).to_have_count(2)
    shot(page, server, "approvals")
    assert not api.works(wanted["key"])
    row(page, "keep this").get_by_role("button", name="Approve").click()
    expect(top_message(page)).to_contain_text("The API key keep this has been approved.")
    expect(row(page, "keep this")).to_have_count(0)
    row(page, "drop that").get_by_role("button", name="Reject").click()
    expect(top_message(page)).to_contain_text("has been rejected")
    expect(page.get_by_text("No API key is waiting for approval.")).to_be_visible()
    assert api.get(wanted["prefix"])["status"] == "Active"
    assert api.get(unwanted["prefix"])["status"] == "Rejected"
    assert api.works(wanted["key"]) and not api.works(unwanted["key"])
    page.get_by_role("link", name="Keys", exact=True).click()
    expect(row(page, "keep this")).to_contain_text("Active")
    expect(row(page, "drop that")).to_contain_text("Rejected")


def test_admin_sees_the_whole_teams_pending_keys_and_approves_on_the_detail_page(page, server, api):
    project = uniq("appr")
    member = api.team_key(roles=[f"project-member:{project}"])
    k = api.create(key=member["key"], name="needs an admin", projectId=project)
    sign_in(page, server.admin_key, heading="Keys")
    page.get_by_role("link", name="Approvals").click()
    r = row(page, "needs an admin")
    expect(r).to_be_visible()
    r.get_by_role("link", name="needs an admin").click()
    expect(page.get_by_text("This key is waiting for approval.")).to_be_visible()
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(top_message(page)).to_contain_text("has been approved")
    expect(page.locator(".key-head")).to_contain_text("Active")
    assert api.get(k["prefix"])["status"] == "Active"
