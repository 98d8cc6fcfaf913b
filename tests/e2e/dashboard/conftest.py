"""A whole cluster (tests/e2e/cluster), the dashboard on it, and Debian's chromium driven by Selenium.

`browser` is headless chromium at 1280x800 through /usr/bin/chromedriver (scripts/install installs both from
apt; browsers cannot be downloaded here); `shots` is the directory the tests save their screenshots in (a
pytest tmp dir, printed at the end so a run's pictures can be looked at).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cluster.cluster import LocalCluster, skip_unless_a_cluster_can_run

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    skip_unless_a_cluster_can_run()
    c = LocalCluster(prefix="kd")
    try:
        c.start()
        yield c
    finally:
        c.stop()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("dashboard-screenshots")
    yield path
    print(f"\ndashboard screenshots: {path}")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        pytest.skip("chromium and chromium-driver are not installed (scripts/install installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,800",
                "--disable-gpu", "--no-first-run", "--disable-extensions", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-proxy-server", "--no-pings",
                "--disable-domain-reliability", "--disable-client-side-phishing-detection", "--disable-default-apps",
                "--disable-features=Translate,MediaRouter,OptimizationHints,SafeBrowsing"):  # fmt: skip
        # No traffic but to the dashboard on loopback: no updates, sync, pings or safe-browsing look-ups.
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
