"""axe-core on a page state: the WCAG 2.1 A and AA rules, violations of serious or
critical impact (the bar every page state keeps at zero)."""

from __future__ import annotations

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Page

_AXE = Axe()
RULES = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


async def serious_violations(page: Page) -> list[str]:
    """Each serious or critical violation: its rule and the first offending elements."""
    results = await _AXE.run(page, options={**RULES, "resultTypes": ["violations"]})
    found = []
    for violation in results.response["violations"]:
        if violation.get("impact") in ("serious", "critical"):
            targets = [str(node["target"]) for node in violation["nodes"][:3]]
            found.append(f"{violation['id']} ({violation['impact']}): {', '.join(targets)}")
    return found
