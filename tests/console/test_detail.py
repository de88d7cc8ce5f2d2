"""API key details: every field, Save ("The API key has been updated."), field errors, a stale
version, Replace Key (shown once, grace period), Delete."""

from playwright.sync_api import expect

from conftest import confirm_replace, row, shot, sign_in, top_message, uniq

UPDATED = "The API key has been updated."


def open_detail(page, server, api, name, project=None, **more):
    project = project or uniq("det")
    k = api.project_key(project, name=name, **more)
    sign_in(page, server.admin_key, heading="Keys")
    page.goto(f"/#/keys/{k['prefix']}")
    expect(page.get_by_role("heading", name="API key details")).to_be_visible()
    expect(page.locator(".key-title")).to_have_text(name)
    return k


def fact(page, term):
    return page.locator(".key-facts > div").filter(has=page.locator("dt", has_text=term)).locator("dd")


def test_detail_shows_every_field(page, server, api):
    k = open_detail(page, server, api, "reporting", labels=["bi"], roles=["reader"], description="nightly reports")
    full = api.get(k["prefix"])
    expect(fact(page, "Prefix")).to_have_text(full["prefix"])
    expect(fact(page, "Preview")).to_have_text(full["preview"])
    expect(fact(page, "Description")).to_have_text("nightly reports")
    expect(fact(page, "Type")).to_contain_text("system")
    expect(fact(page, "Status")).to_have_text("Active")
    expect(fact(page, "Roles")).to_have_text("reader")
    expect(fact(page, "Labels")).to_have_text("bi")
    expect(fact(page, "Team")).to_have_text(full["account"]["id"])
    expect(fact(page, "Project")).to_have_text(full["project"]["id"])
    expect(fact(page, "Created by")).to_have_text(full["createdBy"])
    expect(fact(page, "Version")).to_have_text(str(full["version"]))
    for term in ("Default", "High priority", "Webhook URL", "Expires", "User", "Created on", "Updated on",
                 "Last active", "Submitted jobs", "Retrieved"):
        expect(fact(page, term)).to_have_count(1)
    shot(page, server, "detail")


def test_rename_and_disable_then_save(page, server, api):
    k = open_detail(page, server, api, "old name")
    page.get_by_label("Name", exact=True).fill("new name")
    page.get_by_label("Description").fill("renamed")
    page.get_by_label("Labels").fill("a, b")
    page.get_by_label("Webhook URL").fill("https://hooks.example.com/x")
    page.get_by_label("Status").select_option("Disabled")
    page.get_by_role("button", name="Save").click()
    expect(top_message(page)).to_contain_text(UPDATED)
    expect(page.locator(".key-title")).to_have_text("new name")
    expect(fact(page, "Status")).to_have_text("Disabled")
    held = api.get(k["prefix"])
    assert (held["name"], held["description"], held["labels"], held["webhookUrl"], held["status"]) == (
        "new name", "renamed", ["a", "b"], "https://hooks.example.com/x", "Disabled")
    assert not api.works(k["key"])
    # clear the description and the webhook, enable again
    page.get_by_label("Description").fill("")
    page.get_by_label("Webhook URL").fill("")
    page.get_by_label("Status").select_option("Active")
    page.get_by_role("button", name="Save").click()
    expect(fact(page, "Status")).to_have_text("Active")
    expect(fact(page, "Description")).to_have_text("none")
    expect(top_message(page)).to_contain_text(UPDATED)
    held = api.get(k["prefix"])
    assert held["description"] is None and held["webhookUrl"] is None and held["status"] == "Active"
    assert api.works(k["key"])


def test_field_errors_from_the_api_show_next_to_their_fields(page, server, api):
    k = open_detail(page, server, api, "validated")
    page.get_by_label("Roles").fill("bad role with spaces")
    page.get_by_label("Labels").fill("x" * 60)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("[data-field=labels] .field-error")).to_be_visible()
    expect(page.locator("[data-field=roles] .field-error")).to_be_visible()
    expect(top_message(page)).to_contain_text("not valid")
    shot(page, server, "detail-field-errors")
    held = api.get(k["prefix"])
    assert held["roles"] == [] and held["labels"] == []


def test_a_change_made_meanwhile_is_not_overwritten(page, server, api):
    k = open_detail(page, server, api, "contended")
    api.patch(k["prefix"], name="changed elsewhere")
    page.get_by_label("Name", exact=True).fill("my change")
    page.get_by_role("button", name="Save").click()
    expect(top_message(page)).to_contain_text("Someone changed this key")
    assert api.get(k["prefix"])["name"] == "changed elsewhere"


def test_replace_key_shows_the_new_key_once_and_the_old_one_stops(page, server, api):
    k = open_detail(page, server, api, "rotating")
    expect(page.get_by_text("This is a permanent action")).to_be_visible()
    page.get_by_role("button", name="Replace Key").click()
    token = confirm_replace(page, server)
    expect(top_message(page)).to_contain_text("has been replaced")
    assert token != k["key"] and token.startswith("sk-project-" + k["prefix"])
    assert api.works(token) and not api.works(k["key"])


def test_replace_with_a_grace_period_keeps_the_old_key_working(page, server, api):
    k = open_detail(page, server, api, "graceful")
    page.get_by_label("Grace period").fill("99999")
    page.get_by_role("button", name="Replace Key").click()
    expect(page.locator("[data-field=gracePeriodSeconds] .field-error")).to_be_visible()
    page.get_by_label("Grace period").fill("300")
    page.get_by_role("button", name="Replace Key").click()
    token = confirm_replace(page, server)
    expect(top_message(page)).to_contain_text("stops working in 300 seconds")
    assert api.works(token) and api.works(k["key"])


def test_delete_from_the_detail_page(page, server, api):
    project = uniq("det")
    k = open_detail(page, server, api, "doomed", project=project)
    page.get_by_role("button", name="Delete", exact=True).click()
    page.get_by_role("dialog", name="Delete API Key").get_by_role("button", name="Delete").click()
    expect(page.get_by_role("heading", level=1, name="Keys")).to_be_visible()
    expect(top_message(page)).to_contain_text("The API key doomed has been deleted.")
    expect(row(page, "doomed")).to_have_count(0)
    assert api.status_of(k["prefix"]) == 404
    assert not api.works(k["key"])


def test_a_member_sees_details_read_only(page, server, api):
    project = uniq("ro")
    k = api.project_key(project, name="look only")
    member = api.team_key(roles=[f"project-member:{project}"])
    sign_in(page, member["key"], heading="API keys")
    row(page, "look only").get_by_role("link", name="Detail").click()
    expect(page.get_by_role("heading", name="API key details")).to_be_visible()
    expect(fact(page, "Prefix")).to_have_text(k["prefix"])
    for name in ("Save", "Replace Key", "Delete"):
        expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)
    assert "#/keys/" + k["prefix"] in page.url
