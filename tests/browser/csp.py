"""Every browser context reports Content-Security-Policy violations to the test.

A page's `securitypolicyviolation` events (an init script listens in every frame) and
Chromium's console lines about a refused load both land in `VIOLATIONS`; the autouse
fixture in conftest.py fails the test that caused one. `inject_axe` evaluates axe-core
over the DevTools protocol, which no page policy governs, so the gate adds nothing.
"""

from __future__ import annotations

VIOLATIONS: list[str] = []

LISTENER = """
document.addEventListener('securitypolicyviolation', (event) => {
  const report = window.__gongfangCspViolation;
  if (!report) return;
  // Counted once Python has it, so a test can wait for the report itself.
  report(`${event.effectiveDirective} refused ${event.blockedURI || 'inline'}`
    + ` on ${location.pathname} (${event.sourceFile || 'page'}:${event.lineNumber})`)
    .then(() => { window.__gongfangCspReported = (window.__gongfangCspReported || 0) + 1; });
});
"""


def watch(context):
    """Make `context` report every CSP violation of its pages into VIOLATIONS."""
    context.expose_function("__gongfangCspViolation", _report)
    context.add_init_script(LISTENER)
    context.on("console", _console)
    return context


def _report(line: str) -> None:
    VIOLATIONS.append(line)


def _console(message) -> None:
    text = message.text
    if message.type == "error" and "Content Security Policy" in text:
        VIOLATIONS.append(text)


def watched_new_context(new_context):
    """Wrap Browser.new_context so that every context it makes is watched."""
    def make(*args, **kwargs):
        return watch(new_context(*args, **kwargs))

    return make
