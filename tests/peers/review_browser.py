#!/usr/bin/python3
"""Drives Debian's chromium (headless, through chromium-driver and
python3-selenium) through the imwire web console, as a reviewer:
signs in, reads the overview, opens the conversation holding hostile
payloads and checks they are text that ran nothing, searches, downloads
an export, watches the live tail, is refused the admin page, and keeps a
screenshot. Prints PASS/FAIL lines.

usage: review_browser.py BASE_URL USER PASSWORD DOWNLOAD_DIR SCREENSHOT PAYLOAD... -- NEW_ROW_CMD...
"""
import os
import subprocess
import sys
import tempfile
import time

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

base, user, password, dl, shot = sys.argv[1:6]
rest = sys.argv[6:]
sep = rest.index("--")
payloads, new_row_cmd = rest[:sep], rest[sep + 1:]
failed = 0


def check(name, ok, detail=""):
    global failed
    print(("PASS " if ok else "FAIL ") + name, flush=True)
    if not ok:
        failed = 1
        if detail:
            print("  " + str(detail)[:600], flush=True)


def wait_for(fn, seconds=10.0):
    end = time.time() + seconds
    while time.time() < end:
        try:
            v = fn()
            if v:
                return v
        except Exception:  # the page may still be loading
            pass
        time.sleep(0.2)
    return None


def no_alert(driver):
    try:
        driver.switch_to.alert
        return False
    except NoAlertPresentException:
        return True


profile = tempfile.mkdtemp(prefix="imwire-chromium-")
opts = webdriver.ChromeOptions()
opts.binary_location = "/usr/bin/chromium"
for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
          "--disable-component-update", "--disable-sync", "--no-first-run",
          "--disable-dev-shm-usage", "--window-size=1280,900", "--user-data-dir=" + profile):
    opts.add_argument(a)
opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
opts.add_experimental_option("prefs", {"download.default_directory": dl,
                                       "download.prompt_for_download": False})
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
driver.set_page_load_timeout(30)
try:
    # Without a session: to the login page.
    driver.get(base + "/conversations")
    check("browser_redirected_to_login", driver.current_url.endswith("/login"), driver.current_url)
    driver.find_element(By.ID, "user").send_keys(user)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "signin").click()
    ok = wait_for(lambda: driver.find_element(By.ID, "who").text.startswith(user))
    check("browser_login", bool(ok), driver.page_source[:300])
    check("browser_overview_chart",
          len(driver.find_elements(By.CSS_SELECTOR, "svg#chart rect")) > 0, driver.page_source[:300])
    cookies = {c["name"]: c for c in driver.get_cookies()}
    s = cookies.get("imw_session", {})
    check("browser_cookie_httponly_strict",
          s.get("httpOnly") is True and s.get("sameSite") == "Strict", s)

    # The conversation with the payloads, from the list.
    driver.get(base + "/conversations")
    rows = driver.find_elements(By.CSS_SELECTOR, "#conversations tr")
    link = None
    for r in rows:
        if "#xss" in r.text:
            link = r.find_element(By.CSS_SELECTOR, "a.conv")
    check("browser_conversation_listed", link is not None, driver.page_source[:500])
    if link is not None:
        link.click()
        wait_for(lambda: driver.find_element(By.ID, "thread"))
        cells = [c.get_attribute("textContent")
                 for c in driver.find_elements(By.CSS_SELECTOR, "#thread td.t")]
        for i, p in enumerate(payloads):
            check("browser_payload_%d_is_text" % i, p in cells, cells)
        injected = driver.execute_script(
            "return document.querySelectorAll('main script, main img, main iframe,"
            " [onerror], [onload]').length")
        check("browser_payload_no_elements", injected == 0, injected)
        check("browser_payload_no_alert", no_alert(driver))
        check("browser_payload_no_marker",
              driver.execute_script("return window.__imwire_xss === undefined"))
        logs = driver.get_log("browser")
        bad = [l for l in logs if l.get("level") == "SEVERE"]
        check("browser_no_console_errors", not bad, bad)
        driver.save_screenshot(shot)
        check("browser_screenshot", os.path.getsize(shot) > 1000, shot)
        print("screenshot: " + shot, flush=True)

        # Download the HTML report of this conversation.
        driver.find_element(By.ID, "export-go").click()
        got = wait_for(lambda: [f for f in os.listdir(dl) if f.endswith(".html")], 20)
        ok, data = False, ""
        if got:
            # Chrome renames the finished download: complete once it ends in </html>.
            wait_for(lambda: open(os.path.join(dl, got[0]), encoding="utf-8").read().endswith(
                "</html>\n"), 10)
            data = open(os.path.join(dl, got[0]), encoding="utf-8").read()
            ok = "&lt;script&gt;" in data and "<script" not in data
        check("browser_export_download", ok, (got, data[-400:]))

    # Search.
    driver.get(base + "/search")
    driver.find_element(By.ID, "f-q").send_keys("lunch")
    driver.find_element(By.ID, "go").click()
    ok = wait_for(lambda: "Hello Bob, lunch at 12?" in driver.find_element(By.ID, "results").text)
    check("browser_search", bool(ok), driver.page_source[:400])

    # The live tail shows a row written after the page opened.
    driver.get(base + "/tail")
    wait_for(lambda: driver.find_element(By.ID, "tail"))
    time.sleep(1.5)
    subprocess.run(new_row_cmd, check=True)
    ok = wait_for(lambda: "tail-news" in driver.find_element(By.ID, "tail").text, 15)
    check("browser_live_tail", bool(ok), driver.find_element(By.ID, "tail").text[:300])

    # A reviewer is refused the admin page.
    driver.get(base + "/admin")
    check("browser_reviewer_no_admin", driver.title.startswith("403"), driver.title)
    check("browser_no_alert_at_end", no_alert(driver))
finally:
    driver.quit()
sys.exit(failed)
