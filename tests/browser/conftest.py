"""Real Chromium (Debian's package) driven by Playwright against pytest-django's live server.

Every page of the site a browser test visits is checked with axe-core (accessibility): before
the test's first action on it (a click, typing, the next page...) and, for the last page,
when the test ends. A serious or critical violation fails the test, as a script error or a
Content-Security-Policy violation does.
"""

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from axe_playwright_python.base import AXE_FILE_PATH
from playwright.sync_api import Browser, BrowserContext, Locator, Page, sync_playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

# axe-core comes pinned inside the axe-playwright-python package (requirements-dev.txt).
# The browser answers this address itself, so the site never serves axe, and the page
# loads it as a script of its own origin: the strict Content-Security-Policy stays on.
AXE_PATH = "/__tests__/axe-core.js"
FAILING_IMPACTS = ("serious", "critical")

RUN_AXE = """async (impacts) => {
  // No preload: axe would fetch @imported style sheets itself (from the wrong address)
  // and parse them in inline <style> elements, which the Content-Security-Policy refuses.
  const results = await axe.run(document, {resultTypes: ["violations"], preload: false});
  return results.violations
    .filter((violation) => impacts.includes(violation.impact))
    .map((violation) => ({
      id: violation.id,
      impact: violation.impact,
      help: violation.help,
      where: violation.nodes.slice(0, 3).map((node) => node.target.join(" ")),
    }));
}"""


def accessibility_problems(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.add_script_tag(url=AXE_PATH)
    violations = page.evaluate(RUN_AXE, list(FAILING_IMPACTS))
    return [
        f"{page.url}: {v['id']} ({v['impact']}): {v['help']} at {v['where']}" for v in violations
    ]


def assert_accessible(page: Page) -> None:
    """For a state of a page no navigation leaves (a box shown by a script, say)."""
    problems = accessibility_problems(page)
    assert problems == [], "axe-core found:\n" + "\n".join(problems)


@dataclass
class Watch:
    """What a test's browser window reports: console errors, and the accessibility problems
    of each page of the site it was on."""

    page: Page
    site: str
    problems: list[str] = field(default_factory=list)
    checked: set[str] = field(default_factory=set)

    def check(self) -> None:
        """Check the page the window shows, once per address."""
        url = self.page.url
        if url.startswith(self.site) and url not in self.checked:
            self.checked.add(url)
            self.page.wait_for_load_state("load")
            self.problems.extend(accessibility_problems(self.page))


# Actions that may leave a page or change it: the page is checked before each (once).
# (A check inside Playwright's own navigation events would race the test's next step.)
ACTIONS = {
    Page: ("goto", "reload", "go_back", "go_forward", "click", "fill", "check", "press"),
    Locator: (
        "click",
        "dblclick",
        "fill",
        "clear",
        "check",
        "uncheck",
        "set_checked",
        "select_option",
        "press",
        "press_sequentially",
        "tap",
        "set_input_files",
    ),
}
WATCHES: dict[int, Watch] = {}


def _checked_first(action):
    def act(self, *args, **kwargs):
        page = self if isinstance(self, Page) else self.page
        if watch := WATCHES.get(id(page)):
            watch.check()
        return action(self, *args, **kwargs)

    return act


@pytest.fixture(autouse=True)
def accessibility_checks(monkeypatch) -> Iterator[None]:
    """Browser tests check each page before acting on it (see ACTIONS)."""
    for kind, names in ACTIONS.items():
        for name in names:
            monkeypatch.setattr(kind, name, _checked_first(getattr(kind, name)))
    yield
    WATCHES.clear()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


def open_page(browser: Browser, live_server, **options) -> tuple[BrowserContext, Watch]:
    """A new browser window (its own cookies) on the live server, watched as above;
    `options` for the browser context (a phone's viewport, say)."""
    context = browser.new_context(base_url=live_server.url, **options)
    context.set_default_timeout(10_000)
    context.route(
        f"{live_server.url}{AXE_PATH}",
        lambda route: route.fulfill(path=AXE_FILE_PATH, content_type="text/javascript"),
    )
    watch = Watch(page=context.new_page(), site=live_server.url)
    watch.page.on(
        "console", lambda msg: watch.problems.append(msg.text) if msg.type == "error" else None
    )
    watch.page.on("pageerror", lambda error: watch.problems.append(str(error)))
    WATCHES[id(watch.page)] = watch
    return context, watch


def close_page(context: BrowserContext, watch: Watch) -> None:
    """Check the last page, close the window, and fail on anything it reported."""
    if not watch.page.is_closed():
        watch.check()
    context.close()
    assert watch.problems == [], "the browser reported problems:\n" + "\n".join(watch.problems)


@pytest.fixture
def page(browser: Browser, live_server) -> Iterator[Page]:
    context, watch = open_page(browser, live_server)
    yield watch.page
    close_page(context, watch)


@pytest.fixture
def second_page(browser: Browser, live_server) -> Iterator[Page]:
    """Another person's browser window (its own cookies), watched the same way."""
    context, watch = open_page(browser, live_server)
    yield watch.page
    close_page(context, watch)


# A phone held upright (the size of an iPhone 14's screen), with touch.
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


@pytest.fixture
def phone(browser: Browser, live_server) -> Iterator[Page]:
    context, watch = open_page(browser, live_server, **PHONE)
    yield watch.page
    close_page(context, watch)
