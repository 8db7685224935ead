"""Reading what a page shows: field errors, typed values, the CSRF token."""

from __future__ import annotations

import html as html_lib
import re

from sqlmodel import func, select


def field_error(page: str, field_id: str) -> str | None:
    """The inline error shown for the field, without the hidden "Error:" prefix."""
    match = re.search(rf'<p class="error-message" id="{re.escape(field_id)}-error">(.*?)</p>',
                      page, re.S)
    if not match:
        return None
    text = re.sub(r'<span class="visually-hidden">.*?</span>', "", match.group(1))
    return html_lib.unescape(text).strip()


def field_value(page: str, field_id: str) -> str | None:
    """The value an <input> shows (as the browser would read it), or None."""
    match = re.search(rf'<input[^>]*\bid="{re.escape(field_id)}"[^>]*>', page)
    if not match:
        return None
    value = re.search(r'\bvalue="([^"]*)"', match.group(0))
    return html_lib.unescape(value.group(1)) if value else None


def error_summary(page: str) -> str | None:
    match = re.search(r'<div class="error-summary".*?</div>', page, re.S)
    return html_lib.unescape(match.group(0)) if match else None


def csrf_token(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                     r'type="hidden" name="csrf_token" value="([^"]+)"|'
                     r'name="csrf_token" value="([^"]+)"', page).group(0).split(
        'value="')[1].rstrip('"')


def count(db_session, model, *where) -> int:
    with db_session(write=False) as session:
        statement = select(func.count()).select_from(model)
        for condition in where:
            statement = statement.where(condition)
        return session.exec(statement).one()
