"""Create: "New API Key", the key shown once (copy, deliberate close), Pending for members."""

from playwright.sync_api import expect

from conftest import row, shot, sign_in, top_message, uniq

IMPORTANT = "Important: copy this key now, it will not be shown again."


def key_dialog(page):
    return page.get_by_role("dialog", name="Your new API key")


def test_admin_creates_a_project_key_and_sees_it_once(page, server, api):
    project = uniq("billing")
    sign_in(page, server.admin_key, heading="Keys")
    with page.expect_response(lambda r: f"projectId={project}" in r.url):
        page.get_by_label("Project", exact=True).fill(project)
    expect(page.get_by_text("No API key has been created on this project.")).to_be_visible()
    page.get_by_role("button", name="Create an API key", exact=True).click()
    form = page.get_by_role("dialog", name="New API Key")
    expect(form).to_be_visible()
    form.get_by_label("Name").fill("billing service")
    form.get_by_label("Description").fill("charges cards")
    expect(form.get_by_label("Project", exact=True)).to_have_value(project)
    form.get_by_label("Roles").fill(f"project-member:{project}, reader")
    form.get_by_label("Labels").fill("prod, eu")
    form.get_by_label("Webhook URL").fill("https://hooks.example.com/billing")
    form.get_by_label("High priority").check()
    shot(page, server, "create-form")
    form.get_by_role("button", name="Create", exact=True).click()
    dialog = key_dialog(page)
    expect(dialog).to_be_visible()
    expect(dialog.get_by_text(IMPORTANT)).to_be_visible()
    token = dialog.get_by_label("Your new API key").input_value()
    assert token.startswith("sk-project-")
    server.secrets.add(token)
    # the key is the field's value, never written into the markup
    assert token not in page.content()
    dialog.get_by_role("button", name="Copy", exact=True).click()
    expect(dialog.get_by_text("Copied to the clipboard.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == token
    expect(top_message(page)).to_contain_text("The API key billing service has been created.")
    shot(page, server, "create-key-once")
    # not closed by Escape or by a click on the backdrop
    page.keyboard.press("Escape")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("will not be shown again")
    page.mouse.click(5, 5)
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="I have copied it").click()
    expect(dialog).to_have_count(0)
    # the key is nowhere on the page any more
    assert token not in page.content()
    r = row(page, "billing service")
    expect(r).to_contain_text("Active")
    # what the API holds
    items = api.list(projectId=project)["items"]
    assert len(items) == 1
    k = items[0]
    assert k["name"] == "billing service" and k["description"] == "charges cards"
    assert k["roles"] == [f"project-member:{project}", "reader"] and k["labels"] == ["prod", "eu"]
    assert k["webhookUrl"] == "https://hooks.example.com/billing" and k["isHighPriority"] is True
    assert k["preview"].endswith(token[-4:])
    assert api.works(token)


def test_create_copy_close_with_the_keyboard_alone(page, server, api):
    project = uniq("kbd")
    pa = api.team_key(roles=[f"project-admin:{project}"])
    page.goto("/")
    expect(page.get_by_label("API key")).to_be_focused()
    page.keyboard.type(pa["key"])
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="API keys")).to_be_visible()
    page.get_by_role("button", name="Create API Key").focus()
    page.keyboard.press("Enter")
    form = page.get_by_role("dialog", name="New API Key")
    expect(form.get_by_label("Name")).to_be_focused()
    page.keyboard.type("keyboard key")
    page.keyboard.press("Enter")
    dialog = key_dialog(page)
    expect(dialog.get_by_role("button", name="Copy", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog.get_by_text("Copied to the clipboard.")).to_be_visible()
    token = page.evaluate("navigator.clipboard.readText()")
    server.secrets.add(token)
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name="I have copied it")).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog).to_have_count(0)
    expect(page.get_by_role("button", name="Create API Key")).to_be_focused()
    expect(row(page, "keyboard key")).to_contain_text("Active")
    assert api.works(token)
    k = [i for i in api.list(projectId=project)["items"] if i["name"] == "keyboard key"][0]
    assert k["status"] == "Active" and k["project"]["id"] == project


def test_a_member_creates_a_pending_key_with_only_roles_it_holds(page, server, api):
    project = uniq("lab")
    member = api.team_key(roles=[f"project-member:{project}", "reader"])
    sign_in(page, member["key"], heading="API keys")
    page.get_by_role("button", name="Create API Key").click()
    form = page.get_by_role("dialog", name="New API Key")
    expect(form.locator("#c-pending-note")).to_contain_text("Pending")
    roles = form.get_by_role("group", name="Roles")
    expect(roles.get_by_role("checkbox")).to_have_count(2)
    roles.get_by_label("reader").check()
    expect(form.get_by_label("High priority")).to_have_count(0)
    form.get_by_label("Name").fill("member request")
    form.get_by_role("button", name="Create", exact=True).click()
    dialog = key_dialog(page)
    server.secrets.add(dialog.get_by_label("Your new API key").input_value())
    expect(top_message(page)).to_contain_text("Pending until a project admin approves it")
    dialog.get_by_role("button", name="I have copied it").click()
    expect(row(page, "member request")).to_contain_text("Pending")
    k = [i for i in api.list(projectId=project)["items"] if i["name"] == "member request"][0]
    assert k["status"] == "Pending" and k["roles"] == ["reader"]


def test_bad_input_is_shown_at_its_field_and_nothing_is_created(page, server, api):
    project = uniq("bad")
    sign_in(page, server.admin_key, heading="Keys")
    page.get_by_role("button", name="Create API Key").click()
    form = page.get_by_role("dialog", name="New API Key")
    form.get_by_role("button", name="Create", exact=True).click()
    expect(form.locator("[data-field=name] .field-error")).to_contain_text("Enter a name")
    expect(form.get_by_label("Name")).to_have_attribute("aria-invalid", "true")
    form.get_by_label("Name").fill("x")
    form.get_by_label("Project", exact=True).fill(project)
    form.get_by_label("Labels").fill("l" * 60)  # the API allows 50 characters
    form.get_by_role("button", name="Create", exact=True).click()
    expect(form.locator("[data-field=labels] .field-error")).to_be_visible()
    expect(form.get_by_role("alert")).to_contain_text("not valid")
    shot(page, server, "create-field-error")
    form.get_by_role("button", name="Cancel").click()
    expect(form).to_have_count(0)
    assert api.list(projectId=project)["items"] == []
