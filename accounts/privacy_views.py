"""A person's own data: download it all, withdraw consent, ask for erasure; an operator
carries out an erasure someone asked for in person or by letter."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from accounts import consent, erasure
from accounts.access import roles_required
from accounts.auth import password_matches
from accounts.forms import EraseMyDataForm, OperatorEraseForm
from accounts.models import Role, User
from accounts.operator_views import back_to_person, form_page, person_or_404
from accounts.personal_data import export_zip
from core.db import get_session, no_write_lock, write_lock_for_this_request
from core.forms import form_view
from core.i18n import format_money
from core.rate_limits import count_tries, minutes_to_wait
from core.written import WrittenText, as_written, written_message

bp = Blueprint("privacy", __name__)


def person_name(user: User | None):
    """A person's name as written, or "Former member FM-…" once their data is erased."""
    if user is None:
        return ""
    if user.erased_at is not None:
        return WrittenText(_("Former member %(pseudonym)s", pseudonym=user.pseudonym), None)
    return as_written(user.display_name)


bp.add_app_template_global(person_name)


def blocker_messages(blockers: list[erasure.Blocker], *, own: bool) -> list[str]:
    """What must happen first, in words for the person (`own`) or for an operator."""
    messages = []
    for blocker in blockers:
        if blocker.kind == "owed":
            amount = format_money(blocker.detail, "CNY")
            messages.append(
                _("We still owe you %(amount)s of income. We pay it out first, to your "
                  "account, then your details can be erased.", amount=amount) if own else
                _("The shop still owes this person %(amount)s of income. Pay it out first: "
                  "the payment needs their name and account.", amount=amount))
        elif blocker.kind == "order":
            messages.append(written_message(
                _("Order %(number)s is still under way. It needs the name, phone and address "
                  "until it is delivered or cancelled."), number=blocker.detail))
        else:
            messages.append(written_message(
                _("The live stream %(title)s has not ended and this account presents it or holds "
                  "a slot in it. Release the slot or end the stream first."),
                title=blocker.detail))
    return messages


@bp.route("/account/personal-data")
@login_required
def personal_data():
    """What we hold about you: download it, and how to have it erased."""
    session = get_session()
    return render_template("accounts/personal_data.html",
                           consents=consent.consents_of(session, current_user.id))


@bp.route("/account/personal-data/download", methods=["POST"])
@login_required
@no_write_lock
def personal_data_download():
    """Everything about the signed-in person as one ZIP (a POST: CSRF-checked, so no other
    site can make a browser fetch it)."""
    body = export_zip(get_session(), current_user)
    return Response(body, mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="gongfang-personal-data-'
                               f'{current_user.id}.zip"',
        "Cache-Control": "no-store"})


@bp.route("/account/maker-profile/withdraw-consent", methods=["POST"])
@roles_required(Role.MAKER)
def withdraw_consent():
    """Withdraw consent to keep the disability category: it is cleared at once."""
    if consent.withdraw_disability_consent(get_session(), current_user.id):
        flash(_("You withdrew your consent. Your disability category has been deleted."),
              "success")
    return redirect(url_for("accounts.maker_profile"))


@bp.route("/account/erase", methods=["GET", "POST"])
@login_required
@form_view
def erase_me():
    """Ask for your details to be erased, after a page that says what that means."""
    session = get_session()
    blockers = erasure.erasure_blockers(session, current_user)
    form = EraseMyDataForm()
    if not blockers and form.validate_on_submit():
        tries = {"sign-in-failures-for-account": f"user-{current_user.id}"}
        if minutes := minutes_to_wait(tries):
            form.password.errors = [_("You have tried too many times. Wait %(minutes)d "
                                      "minutes, then try again.", minutes=minutes)]
            return render_template("accounts/erase.html", form=form, blockers=[]), 429
        if password_matches(current_user, form.password.data):
            erasure.erase_person(session=session, user=current_user, by=current_user)
            logout_user()
            return redirect(url_for("privacy.erased"))
        count_tries(tries)
        form.password.errors = [_("The password is not right")]
    status = 400 if form.errors else 200
    return render_template("accounts/erase.html", form=form,
                           blockers=blocker_messages(blockers, own=True)), status


@bp.route("/account/erased")
def erased():
    """Said once the details are gone (the person is signed out by then)."""
    return render_template("accounts/erased.html")


@bp.route("/operator/users/<int:user_id>/erase", methods=["GET", "POST"])
@roles_required(Role.OPERATOR)
@form_view
def operator_erase(user_id: int):
    """Erase a person's details when they asked the federation rather than the site."""
    session = get_session()
    user = person_or_404(user_id)
    if user.erased_at is not None:
        return redirect(url_for("operator_accounts.user_detail", user_id=user.id))
    blockers = erasure.erasure_blockers(session, user)
    form = OperatorEraseForm()
    if not blockers and form.validate_on_submit():
        if user.id == current_user.id:
            form.confirm.errors = [_("Erase your own details from your account page")]
        else:
            pseudonym = erasure.erase_person(session=session, user=user, by=current_user)
            return back_to_person(user, _("The person's details were erased. They are "
                                          "%(pseudonym)s in the books now.",
                                          pseudonym=pseudonym))
    return form_page("accounts/operator/erase.html", form, person=user,
                     blockers=blocker_messages(blockers, own=False))


def _order_fields(order_number: str) -> tuple[str, str, list[str]] | None:
    from sqlmodel import select

    from shop.models import Order

    order = get_session().exec(select(Order).where(Order.number == order_number[:20])).first()
    if order is None:
        return None
    fields = ["email"] + (["phone"] if order.phone else []) + (
        ["address"] if order.street else [])
    if order.user_id is not None:
        return "user", str(order.user_id), fields
    return "order", str(order.id), fields


def _user_fields(user_id: int) -> tuple[str, str, list[str]] | None:
    user = get_session().get(User, user_id)
    if user is None:
        return None
    return "user", str(user.id), ["email"] + (["phone"] if user.phone else [])


# Operator pages that show someone's sensitive fields, and how to find whose and which.
SENSITIVE_PAGES = {
    "operator_accounts.user_detail": lambda args: _user_fields(args["user_id"]),
    "shop.operator_order": lambda args: _order_fields(args["number"]),
}


@bp.before_app_request
def _log_sensitive_view():
    """An operator reading a page with a person's phone or address leaves an audit entry,
    saved with the request (a refused or failed page writes none)."""
    from flask import request

    from accounts.access import has_role
    from core.audit import record

    find = SENSITIVE_PAGES.get(request.endpoint or "")
    if find is None or request.method != "GET":
        return
    # Before current_user is loaded (its query begins the transaction): on SQLite this
    # GET may write its audit entry, so it takes the write lock as a POST does.
    write_lock_for_this_request()
    if not current_user.is_authenticated or not has_role(Role.OPERATOR):
        return
    found = find(request.view_args or {})
    if found is not None:
        subject_type, subject_id, fields = found
        record(get_session(), actor=current_user, action="sensitive.view",
               subject_type=subject_type, subject_id=subject_id,
               details={"fields": fields, "page": request.endpoint})
