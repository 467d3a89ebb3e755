#!/usr/bin/env python3
"""The operator's console in a real browser (issue 17), as an office's IT person uses it.

Headless Chromium (Debian's chromium and chromium-driver, driven by Selenium) against
`connector-host run`, which syncs the embedded FlowFact-like database with exchange-sim:

  1. The service starts; Julia Schäfer's mailbox may not be impersonated yet, so her account is
     disabled after its first run (disable_after: 1).
  2. A contact is changed in FlowFact and in Outlook (exchangelib) before the next run: with
     `conflict: report` that is an open conflict. A contact made in Outlook with a four-digit
     postcode is refused by a rule in FlowFact (a trigger): a dead letter.
  3. The browser opens the overview, starts the sync of Max Müller's contacts ("Jetzt abgleichen")
     in a second tab and sees the first tab update itself (no reload) with the conflict and the
     dead letter. Screenshot: docs/console-overview.png.
  4. It opens the account (docs/console-account.png), then the conflict: both versions side by side, the differing field
     marked. Screenshot: docs/console-conflict.png. It takes FlowFact's version; the contact in
     Exchange changes (read back with exchangelib) and the conflict disappears from the account page.
  5. The FlowFact rule is lifted and the dead letter retried: the contact arrives in FlowFact and
     the dead letter disappears.
  6. The impersonation right is granted (exchange-sim restarted without the denial, its mailboxes
     kept) and the disabled mailbox enabled in the browser: its run succeeds and it shows as enabled.
  7. A POST without the CSRF token is refused (403), as is one with the browser's session cookie
     but without the token.
  8. The service is started bound to another address (a network namespace's veth): without a
     credential `connector-host validate` refuses the configuration; with `console: { token_file }`
     a request from the other address without the token gets 401, with it 200.

Usage: console_check.py --bin DIR --schemas DIR --work DIR [--shots DIR] [--no-netns]
Prints one line per check and a closing 'N passed, N failed' line; exits 1 when a check failed.
"""
import argparse
import base64
import datetime
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from exchangelib import BASIC, IMPERSONATION, Account, Build, Configuration, Contact, Credentials, Version
from exchangelib.indexed_properties import PhysicalAddress
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By

SERVICE_USER = "svc@example.test"
SERVICE_PASSWORD = "Console-Passw0rd"
MM, JS = "mm@example.test", "js@example.test"
TOKEN = "konsole-0123456789abcdef"

passed = 0
failed = 0


def check(condition, what, detail=""):
    global passed, failed
    if condition:
        passed += 1
        print(f"ok    {what}", flush=True)
    else:
        failed += 1
        print(f"FAIL  {what}{': ' + detail if detail else ''}", flush=True)
    return condition


def wait(condition, seconds, interval=0.25):
    """Polls `condition` until it answers something true or `seconds` pass; answers the last value."""
    deadline = time.time() + seconds
    while True:
        value = condition()
        if value or time.time() > deadline:
            return value
        time.sleep(interval)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Setup:
    def __init__(self, args):
        self.bin = args.bin
        self.schemas = args.schemas
        self.work = args.work
        self.sim = None
        self.service = None
        self.sim_port = free_port()
        self.console_port = free_port()
        self.url = f"http://127.0.0.1:{self.console_port}"
        self.flowfact = os.path.join(self.work, "flowfact.sqlite")
        self.state = os.path.join(self.work, "state.sqlite")
        self.config = os.path.join(self.work, "connectors.yaml")

    # exchange-sim ---------------------------------------------------------------------------------------

    def start_sim(self, deny_js):
        log = open(os.path.join(self.work, "sim.log"), "a")
        command = [os.path.join(self.bin, "exchange-sim"), "--port", str(self.sim_port), "--schemas", self.schemas,
                   "--account", f"{SERVICE_USER}:{SERVICE_PASSWORD}", "--impersonation", SERVICE_USER,
                   "--mailbox", MM, "--mailbox", JS, "--state", os.path.join(self.work, "sim.json")]
        if deny_js:
            command += ["--deny-impersonation", JS]
        self.sim = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        up = wait(lambda: "listening on" in open(os.path.join(self.work, "sim.log")).read(), 20)
        if not up:
            raise SystemExit("exchange-sim did not start: " + open(os.path.join(self.work, "sim.log")).read())
        self.ews = f"http://127.0.0.1:{self.sim_port}/EWS/Exchange.asmx"

    def stop_sim(self):
        self.sim.terminate()
        self.sim.wait(10)

    def mailbox(self, address):
        config = Configuration(service_endpoint=self.ews, credentials=Credentials(SERVICE_USER, SERVICE_PASSWORD),
                               auth_type=BASIC, version=Version(build=Build(14, 3)))
        return Account(address, config=config, autodiscover=False, access_type=IMPERSONATION)

    # FlowFact --------------------------------------------------------------------------------------------

    def seed_flowfact(self):
        connection = f"Driver=SQLite3;Database={self.flowfact}"
        dev = os.path.join(self.bin, "connector-dev")
        subprocess.run([dev, "flowfact", "init", "--connection", connection], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([dev, "flowfact", "seed", "--connection", connection, "--users", "2", "--addresses", "3",
                        "--appointments", "0", "--tasks", "0", "--mails", "0"], check=True, stdout=subprocess.DEVNULL)

    def sql(self, statement, parameters=()):
        with sqlite3.connect(self.flowfact, timeout=30) as db:
            rows = db.execute(statement, parameters).fetchall()
            db.commit()
        return rows

    # connector-host --------------------------------------------------------------------------------------

    def write_config(self, address, console=""):
        with open(os.path.join(self.work, "ews.pw"), "w") as f:
            f.write(SERVICE_PASSWORD + "\n")
        with open(self.config, "w") as f:
            f.write(f"""# Written by Benchmarks/peer/console_check.py.
state: {{ path: {self.state} }}
engine: {{ retry_backoff: 10ms, dead_letter_after_runs: 1 }}
service: {{ metrics_address: "{address}", concurrency: 2, disable_after: 1, failure_backoff: 1s, log_format: logfmt }}
console: {{ {console} }}
adapters:
  flowfact: {{ type: flowfact-odbc, connection: "Driver=SQLite3;Database={self.flowfact}", timezone: UTC }}
  exchange: {{ type: ews, url: "{self.ews}", auth: basic, username: {SERVICE_USER},
              password_file: {os.path.join(self.work, "ews.pw")}, access: impersonation }}
users:
  - {{ id: MM, flowfact: MM, exchange: {MM} }}
  - {{ id: JS, flowfact: JS, exchange: {JS} }}
connectors:
  - {{ name: kontakte, kind: address, source: flowfact, target: exchange, conflict: report, interval: 10m }}
""")

    def start_service(self, health_url):
        log = open(os.path.join(self.work, "service.log"), "a")
        self.service = subprocess.Popen([os.path.join(self.bin, "connector-host"), "run", "--config", self.config],
                                        stdout=log, stderr=subprocess.STDOUT)

        def healthy():
            try:
                return urllib.request.urlopen(health_url, timeout=2).status == 200
            except (urllib.error.URLError, ConnectionError):
                return False
        if not wait(healthy, 30):
            raise SystemExit("connector-host run did not start: " + open(os.path.join(self.work, "service.log")).read())

    def stop_service(self):
        if self.service and self.service.poll() is None:
            self.service.terminate()
            self.service.wait(30)

    def state_rows(self, statement, parameters=()):
        with sqlite3.connect(f"file:{self.state}?mode=ro", uri=True, timeout=30) as db:
            return db.execute(statement, parameters).fetchall()

    def runs(self, user):
        return self.state_rows("SELECT id, status FROM run WHERE connector = 'kontakte' AND user = ? ORDER BY id",
                               (user,))

    def account_status(self, name):
        rows = self.state_rows("SELECT status, reason FROM account_state WHERE name = ?", (name,))
        return rows[0] if rows else (None, None)


def browser(language):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000",
                     f"--lang={language}"]:
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"intl.accept_languages": language})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    # A click that submits a form or follows a link answers before the next page has loaded:
    # finding an element waits for it a while instead of failing at once.
    driver.implicitly_wait(10)
    return driver


def text(driver):
    """The page's visible text; while a click's navigation is still loading, waits for the new page."""
    deadline = time.time() + 15
    while True:
        try:
            return driver.find_element(By.TAG_NAME, "body").text
        except (NoSuchElementException, StaleElementReferenceException):
            if time.time() > deadline:
                raise
            time.sleep(0.2)


def post(url, data, cookie=None, auth=None):
    """A form POST outside the browser; answers the status."""
    request = urllib.request.Request(url, data=urllib.parse.urlencode(data).encode(), method="POST")
    if cookie:
        request.add_header("Cookie", cookie)
    if auth:
        request.add_header("Authorization", auth)
    try:
        return urllib.request.urlopen(request, timeout=10).status
    except urllib.error.HTTPError as error:
        return error.code


def get(url, auth=None, netns=None):
    """A GET, from a network namespace when given (curl inside it); answers the status."""
    if netns:
        command = ["ip", "netns", "exec", netns, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "10"]
        if auth:
            command += ["-H", f"Authorization: {auth}"]
        return int(subprocess.run(command + [url], capture_output=True, text=True).stdout or 0)
    request = urllib.request.Request(url)
    if auth:
        request.add_header("Authorization", auth)
    try:
        return urllib.request.urlopen(request, timeout=10).status
    except urllib.error.HTTPError as error:
        return error.code


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--schemas", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--shots", default="docs")
    parser.add_argument("--no-netns", action="store_true")
    args = parser.parse_args()
    started = time.time()
    s = Setup(args)
    driver = None
    try:
        s.start_sim(deny_js=True)
        s.seed_flowfact()
        # A rule of the firm's FlowFact: postcodes have five digits.
        s.sql("CREATE TRIGGER plz_fuenfstellig BEFORE INSERT ON AD WHEN NEW.PLZ IS NOT NULL AND length(NEW.PLZ) <> 5 "
              "BEGIN SELECT RAISE(ABORT, 'Die Postleitzahl muss fünfstellig sein'); END")
        s.write_config(f"127.0.0.1:{s.console_port}")
        s.start_service(s.url + "/health")

        # 1. The first runs: Max Müller's contacts synced, Julia Schäfer's mailbox disabled.
        check(wait(lambda: [r for r in s.runs("MM") if r[1] == "ok"], 60), "the first run of MM's contacts finished")
        status = wait(lambda: s.account_status(JS)[0] == "disabled" and s.account_status(JS), 60)
        check(status and "impersonat" in (status[1] or ""), "js@example.test is disabled: may not be impersonated",
              str(s.account_status(JS)))

        # 2. The conflict and the dead letter, made before MM's next run (due in 10 minutes).
        ad_id, given, family = s.sql(
            "SELECT ID, VORNAME, NAME FROM AD WHERE BESITZER_ID = (SELECT ID FROM BEN WHERE KUERZEL = 'MM') "
            "ORDER BY NAME LIMIT 1")[0]
        person = f"{given} {family}"
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.000")
        s.sql("UPDATE AD SET POSITION = 'Prokuristin', AENDDATUM = ?, AENDBEN = 'MM' WHERE ID = ?", (now, ad_id))
        mailbox = s.mailbox(MM)
        contact = mailbox.contacts.get(surname=family, given_name=given)
        contact.job_title = "Teamleitung Vertrieb"
        contact.save(update_fields=["job_title"])
        Contact(folder=mailbox.contacts, account=mailbox, display_name="Paula Postleitzahl", given_name="Paula",
                surname="Postleitzahl",
                physical_addresses=[PhysicalAddress(label="Business", street="Am Hafen 1", city="Kiel", zipcode="2410",
                                                    country="Deutschland")]).save()

        # 3. The overview in German; a second tab starts MM's sync; the first updates itself.
        driver = browser("de-DE")
        driver.get(s.url + "/")
        overview = driver.current_window_handle
        check("Übersicht" in driver.title and "mm@example.test" in text(driver), "the overview opens in German")
        check("abgeschaltet" in text(driver) and "impersonat" in text(driver),
              "the overview shows js@example.test disabled with the reason")
        driver.execute_script("window.notReloaded = true")
        driver.switch_to.new_window("tab")
        driver.get(s.url + "/")
        runs_before = len(s.runs("MM"))
        driver.find_element(By.CSS_SELECTOR, "form[action='/jobs/kontakte/MM/run'] button").click()
        check(wait(lambda: len(s.runs("MM")) > runs_before, 30), "Jetzt abgleichen: MM's contacts ran at once")
        driver.close()
        driver.switch_to.window(overview)

        def updated():
            cells = driver.find_elements(By.CSS_SELECTOR, "a.count.alert")
            return len(cells) >= 2 and driver.execute_script("return window.notReloaded === true")
        check(wait(updated, 40), "the overview updated itself (no reload) with the conflict and the dead letter")
        driver.save_screenshot(os.path.join(args.shots, "console-overview.png"))

        # 4. The account, the conflict, FlowFact's version taken.
        driver.find_element(By.LINK_TEXT, MM).click()
        check(wait(lambda: person in text(driver) and "Paula Postleitzahl" in text(driver), 15),
              f"the account page names the conflict ({person}) and the dead letter")
        driver.save_screenshot(os.path.join(args.shots, "console-account.png"))
        driver.find_element(By.LINK_TEXT, person).click()
        rows = driver.find_elements(By.CSS_SELECTOR, "table.versions tr.differs")
        check(len(rows) == 1 and "Prokuristin" in rows[0].text and "Teamleitung Vertrieb" in rows[0].text,
              "the conflict shows both versions side by side with the differing field marked",
              " | ".join(r.text for r in rows))
        driver.save_screenshot(os.path.join(args.shots, "console-conflict.png"))
        driver.find_element(By.XPATH, "//button[contains(., 'Fassung von flowfact übernehmen')]").click()
        check(wait(lambda: "Entschieden" in text(driver), 15), "the decision is shown")

        def exchange_title():
            return s.mailbox(MM).contacts.get(surname=family, given_name=given).job_title
        check(wait(lambda: exchange_title() == "Prokuristin", 30), "the contact in Exchange now has FlowFact's version",
              str(exchange_title()))
        check(wait(lambda: not s.state_rows("SELECT id FROM conflict WHERE open = 1"), 30), "the conflict is closed")
        driver.find_element(By.PARTIAL_LINK_TEXT, "Zurück zum Konto").click()
        check(wait(lambda: "Konflikte (0)" in text(driver), 20), "the conflict disappeared from the account page")

        # 5. The rule lifted, the dead letter retried.
        s.sql("DROP TRIGGER plz_fuenfstellig")
        check("fünfstellig" in text(driver), "the dead letter shows FlowFact's reason")
        driver.find_element(By.CSS_SELECTOR, "form[action^='/dead-letters/'] button").click()
        check(wait(lambda: s.sql("SELECT COUNT(*) FROM AD WHERE NAME = 'Postleitzahl'")[0][0] == 1, 30),
              "after the retry the contact is in FlowFact")
        check(wait(lambda: "Nicht übertragbar (0)" in text(driver), 30), "the dead letter disappeared",
              text(driver)[:300])

        # 6. The right granted, the mailbox enabled.
        s.stop_sim()
        s.start_sim(deny_js=False)
        driver.get(s.url + "/")
        driver.find_element(By.CSS_SELECTOR, "form[action='/accounts/exchange/js@example.test/enable'] button").click()
        check(wait(lambda: s.account_status(JS)[0] == "enabled" and [r for r in s.runs("JS") if r[1] == "ok"], 30),
              "after Aktivieren the mailbox syncs", str(s.account_status(JS)))
        check(wait(lambda: JS in text(driver) and "abgeschaltet" not in text(driver), 20),
              "the overview shows the mailbox enabled")
        created = s.state_rows("SELECT counts FROM run WHERE user = 'JS' AND status = 'ok' ORDER BY id LIMIT 1")
        in_mailbox = s.mailbox(JS).contacts.all().count()
        check(in_mailbox > 0 and json.loads(created[0][0]).get("source→target create") == in_mailbox,
              f"Julia Schäfer's {in_mailbox} contacts are in her mailbox", str(created))

        # 7. CSRF.
        cookie = "; ".join(f"{c['name']}={c['value']}" for c in driver.get_cookies())
        check(post(s.url + "/jobs/kontakte/MM/run", {}) == 403, "a POST without the CSRF token is refused (403)")
        check(post(s.url + "/jobs/kontakte/MM/run", {}, cookie=cookie) == 403,
              "a POST with the browser's cookie but without the token is refused (403)")
        token = re.search(r'name="csrf" value="([0-9a-f]+)"', driver.page_source).group(1)
        check(post(s.url + "/jobs/kontakte/MM/run", {"csrf": token}, cookie=cookie) in (200, 303),
              "with the session's token the same POST is accepted")
        driver.quit()
        driver = None
        s.stop_service()

        # 8. Another address: a credential is required.
        if not args.no_netns:
            exposed(s)
    finally:
        if driver:
            driver.quit()
        s.stop_service()
        if s.sim and s.sim.poll() is None:
            s.stop_sim()
    print(f"console check: {time.time() - started:.0f} s")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def exposed(s):
    """The service bound to a veth address; requests come from a network namespace behind it."""
    netns, host, peer = "console-check", "10.231.0.1", "10.231.0.2"
    subprocess.run(["ip", "netns", "del", netns], stderr=subprocess.DEVNULL)
    subprocess.run(["ip", "link", "del", "ccv0"], stderr=subprocess.DEVNULL)
    for command in [["ip", "netns", "add", netns], ["ip", "link", "add", "ccv0", "type", "veth", "peer", "name", "ccv1"],
                    ["ip", "link", "set", "ccv1", "netns", netns], ["ip", "addr", "add", f"{host}/30", "dev", "ccv0"],
                    ["ip", "link", "set", "ccv0", "up"],
                    ["ip", "netns", "exec", netns, "ip", "addr", "add", f"{peer}/30", "dev", "ccv1"],
                    ["ip", "netns", "exec", netns, "ip", "link", "set", "ccv1", "up"]]:
        subprocess.run(command, check=True)
    try:
        address = f"{host}:{s.console_port}"
        s.write_config(address)
        result = subprocess.run([os.path.join(s.bin, "connector-host"), "validate", s.config], capture_output=True,
                                text=True)
        check(result.returncode == 1 and "needs a credential" in result.stderr and "connectors.yaml:4:" in result.stderr,
              "without a credential the configuration is refused for another address", result.stderr.strip())
        token_file = os.path.join(s.work, "console.token")
        with open(token_file, "w") as f:
            f.write(TOKEN + "\n")
        s.write_config(address, console=f"token_file: {token_file}")
        s.start_service(f"http://{address}/health")
        url = f"http://{address}/"
        basic = "Basic " + base64.b64encode(f"it:{TOKEN}".encode()).decode()
        check(get(url, netns=netns) == 401, f"a request from {peer} without the credential is refused (401)")
        check(get(url, auth="Basic " + base64.b64encode(b"it:wrong").decode(), netns=netns) == 401,
              "a wrong credential is refused (401)")
        check(get(url, auth=basic, netns=netns) == 200, f"from {peer} with the credential the overview opens")
        check(get(f"http://{address}/health", netns=netns) == 200, "/health needs no credential")
        log = open(os.path.join(s.work, "service.log")).read()
        check(TOKEN not in log, "the token is not in the service's log")
        s.stop_service()
    finally:
        subprocess.run(["ip", "link", "del", "ccv0"], stderr=subprocess.DEVNULL)
        subprocess.run(["ip", "netns", "del", netns], stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    sys.exit(main())
