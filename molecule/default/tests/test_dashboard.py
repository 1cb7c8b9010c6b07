"""The dashboard in a real headless Chromium (Debian's chromium and chromium-driver, driven by Selenium), through
nginx on each API host (Django 3.2 on Debian 12, 4.2 on Debian 13): an administrator logs in, sees the inventory's
servers, approves a registered account, resolves an incident and reads the audit trail; the approved user sees only
their server and no audit link; a wrong password shows an error; the browser's log holds no refusal by the
Content-Security-Policy. A screenshot of each page is saved under .cache/screenshots/ (the paths are printed)."""

import json
import os
import ssl
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from conftest import chromium, docker_address, target_name

testinfra_hosts = ["ansible://targets"]
ADMIN = ("admin", "Molecule-Admin pw 42")
SHOTS = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", ".")) / ".cache" / "screenshots"
WAIT = 15


def address(host):
    """The target's address on the scenario's Docker network (this machine reaches it; nothing else does)."""
    return docker_address(host)


def call(base, path, body=None, token=None, method=None):
    """(status, JSON) of an API call from this machine to (name, address) (the proxy's self-signed certificate is
    not checked; the Host header is the name, as Django requires)."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    headers = {"Content-Type": "application/json", "Host": base[0]} | (
        {"Authorization": f"Bearer {token}"} if token else {})
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"https://{base[1]}{path}", data=data, headers=headers,
                                     method=method or ("POST" if body is not None else "GET"))
    try:
        with urllib.request.urlopen(request, context=context, timeout=20) as response:  # noqa: S310 (https)
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@pytest.fixture
def browser(host):
    """Chromium reaching the target by its inventory name (the name Django answers to) at its network address."""
    driver = chromium([target_name(host)], address(host))
    yield driver
    driver.quit()


class Page:
    """The dashboard as a person uses it."""

    def __init__(self, driver, base, label):
        from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver, self.base, self.label, self.logs = driver, base, label, []
        # A page that reloads (logging out) replaces its elements while a wait looks at them: look again.
        self.wait = WebDriverWait(driver, WAIT,
                                  ignored_exceptions=(NoSuchElementException, StaleElementReferenceException))

    def by_id(self, element_id):
        return self.driver.find_element("id", element_id)

    def visible(self, element_id):
        return self.wait.until(lambda d: d.find_element("id", element_id).is_displayed() and
                               d.find_element("id", element_id))

    def shot(self, name):
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"dashboard-{self.label}-{name}.png"
        self.driver.save_screenshot(str(path))
        print(f"screenshot: {path}")

    def open(self):
        self.driver.get(f"https://{self.base[0]}/")
        self.visible("login-form")

    def log_in(self, user, password):
        self.by_id("login-username").clear()
        self.by_id("login-username").send_keys(user)
        self.by_id("login-password").clear()
        self.by_id("login-password").send_keys(password)
        self.by_id("login-submit").click()

    def rows(self, table):
        """The texts of a table's body rows, once the table has been filled."""
        self.wait.until(lambda d: d.find_elements("css selector", f"#{table} tbody tr"))
        return [row.text for row in self.driver.find_elements("css selector", f"#{table} tbody tr")]

    def go(self, view):
        self.by_id(f"nav-{view}").click()
        self.visible(f"{view}-view")

    def log_out(self):
        from selenium.webdriver.support import expected_conditions

        nav = self.by_id("nav")
        self.by_id("logout").click()
        self.wait.until(expected_conditions.staleness_of(nav))  # logging out reloads the page
        self.visible("login-form")

    def console(self):
        self.logs += self.driver.get_log("browser")
        return self.logs


def prepare(base, label):
    """Through the API: the administrator's token, a registered account waiting for approval, an open incident."""
    status, tokens = call(base, "/api/auth/login", {"username": ADMIN[0], "password": ADMIN[1]})
    assert status == 200, tokens
    admin = tokens["access"]
    newcomer = ("dana-" + uuid.uuid4().hex[:6], "Dana's long pass 42")
    status, body = call(base, "/api/auth/register", {"username": newcomer[0], "password": newcomer[1]})
    assert status == 201 and body["status"] == "pending", body
    title = "dashboard check " + uuid.uuid4().hex[:6]
    status, incident = call(base, "/api/incidents", {"server": label, "title": title, "severity": "high"}, admin)
    assert status == 201, incident
    return admin, newcomer, title, incident


def test_the_dashboard_in_a_browser(host, browser):
    label = target_name(host)
    base = (label, address(host))
    admin, newcomer, title, incident = prepare(base, label)
    page = Page(browser, base, label)
    page.open()
    page.shot("login")
    page.log_in(ADMIN[0], "not the password at all")
    assert "Wrong user name or password" in page.visible("login-error").text
    page.shot("wrong-password")

    page.log_in(ADMIN[0], ADMIN[1])
    page.visible("servers-view")
    servers = page.rows("servers-table")
    assert any(row.startswith("api12 ") for row in servers) and any(row.startswith("api13 ") for row in servers)
    page.shot("servers")

    page.go("accounts")
    assert any(row.startswith(newcomer[0]) for row in page.rows("accounts-table"))
    page.shot("pending-accounts")
    browser.find_element("css selector", f"button[data-user='{newcomer[0]}']").click()
    page.wait.until(lambda d: not d.find_elements("css selector", f"button[data-user='{newcomer[0]}']"))

    page.go("incidents")
    assert any(title in row for row in page.rows("incidents-table"))
    page.shot("incidents")
    browser.find_element("css selector", f"button[data-incident='{incident['id']}']").click()
    page.wait.until(lambda d: not d.find_elements("css selector", f"button[data-incident='{incident['id']}']"))
    assert call(base, f"/api/incidents/{incident['id']}", token=admin)[1]["state"] == "resolved"

    page.go("backups")
    page.shot("backups")
    page.go("audit")
    audit = page.rows("audit-table")
    assert any(f"user.approve {newcomer[0]}" in row for row in audit), audit[:5]
    assert any(f"incident.resolve {label}" in row for row in audit), audit[:5]
    page.shot("audit")
    page.log_out()

    _status, users = call(base, "/api/users?status=active&page_size=1000", token=admin)
    user_id = next(u["id"] for u in users["results"] if u["username"] == newcomer[0])
    assert call(base, f"/api/users/{user_id}/servers", {"servers": [label]}, admin)[0] == 200
    page.log_in(*newcomer)
    page.visible("servers-view")
    assert [row.split()[0] for row in page.rows("servers-table")] == [label]
    assert not browser.find_elements("id", "nav-audit") and not browser.find_elements("id", "nav-accounts")
    page.shot("user-servers")
    page.log_out()

    messages = [entry["message"] for entry in page.console()]
    assert any(" 401" in message for message in messages), messages  # the log is read: the wrong password is in it
    refused = [message for message in messages if "Content Security Policy" in message or "Refused to" in message]
    assert not refused, refused
