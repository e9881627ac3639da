"""Steps shared by the participant browser tests: axe-core checks, consent and eligibility, filling pages,
and the ranking list driven by keyboard."""

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

AXE = Axe()
TARGET_ORDER = ["patient_autonomy", "trust_rapport", "empathy", "self_motivated_change", "active_listening"]


def assert_accessible(page: Page) -> None:
    """No serious or critical axe-core violations on the current page."""
    results = AXE.run(page)
    blocking = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not blocking, f"{page.url}\n{results.generate_report()}"


def agree_and_pass_eligibility(page: Page, base: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Continue to the survey").click()
    expect(page.get_by_role("alert")).to_contain_text("tick the box")
    assert_accessible(page)
    page.get_by_label("I have read and understood the information above").check()
    page.get_by_role("button", name="Continue to the survey").click()
    expect(page).to_have_url(f"{base}/eligibility/")
    assert_accessible(page)
    page.locator("input[name=eligible_adult][value=yes]").check()
    page.locator("input[name=eligible_lived_experience][value=yes]").check()
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(f"{base}/q/1/")


def fill(page: Page, data: dict) -> None:
    """Fill a page from form data (radios, checkboxes, text); rank selects are left to the caller."""
    for name, value in data.items():
        if name == "version" or name.startswith("ranking-"):
            continue
        for single in value if isinstance(value, list) else [value]:
            field = page.locator(f"[name='{name}']").first
            if field.evaluate("e => e.tagName") == "TEXTAREA":
                field.fill(single)
            else:
                page.locator(f"input[name='{name}'][value='{single}']").check()


def tab_to(page: Page, predicate: str, limit: int = 60) -> None:
    """Press Tab until `predicate` (JS over `el`, the focused element) holds."""
    for _ in range(limit):
        if page.evaluate(f"(() => {{ const el = document.activeElement; return !!el && ({predicate}); }})()"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Keyboard focus never reached: {predicate}")


def rank_by_keyboard(page: Page, order: list[str]) -> None:
    """Reorder the ranking list with Tab, Shift+Tab and the arrow keys only."""
    tab_to(page, "el.matches('.rank-list li')")
    for position, key in enumerate(order):
        keys = page.eval_on_selector_all(".rank-list li", "items => items.map(i => i.dataset.key)")
        focused = keys.index(page.evaluate("document.activeElement.dataset.key"))
        target = keys.index(f"ranking-{key}")
        for _ in range(abs(target - focused)):
            page.keyboard.press("Tab" if target > focused else "Shift+Tab")
        for _ in range(target - position):
            page.keyboard.press("ArrowUp")
        expect(page.locator(".rank-list li").nth(position)).to_have_attribute("data-key", f"ranking-{key}")


def keep_shown_ranking(page: Page) -> None:
    """Continue with the ranking untouched: the page asks to confirm, and the box is ticked by keyboard."""
    page.get_by_role("button", name="Continue").click()
    confirm = page.get_by_label("Keep this order, it is how I rank these qualities")
    expect(confirm).to_be_focused()
    page.keyboard.press("Space")
    expect(confirm).to_be_checked()
    page.get_by_role("button", name="Continue").click()
