"""Account links in the main navigation."""

from flask_babel import lazy_gettext as _l

from core.navigation import SIGNED_IN, SIGNED_OUT, add_nav, add_operator_link


def register_navigation() -> None:
    """Add the account and operator links."""
    add_nav("accounts.login", _l("Sign in"), audience=SIGNED_OUT, order=90)
    add_nav("accounts.register", _l("Create an account"), audience=SIGNED_OUT, order=91)
    add_nav("accounts.account", _l("My account"), audience=SIGNED_IN, order=80)
    add_nav("operator_accounts.dashboard", _l("Operator"), audience="operator", order=85)
    add_operator_link("operator_accounts.audit.entries", _l("Audit trail"), order=90)
