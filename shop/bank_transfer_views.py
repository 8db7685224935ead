"""Operators give the account buyers pay by bank transfer into."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from accounts.access import roles_required
from accounts.models import Role
from core.audit import record
from core.db import get_session
from core.forms import form_view
from shop import bank_transfer
from shop.forms import BankTransferAccountForm
from shop.views import bp


@bp.route("/operator/bank-transfer", methods=["GET", "POST"])
@roles_required(Role.OPERATOR)
@form_view
def operator_bank_transfer():
    """The account, name and bank that order pages and mails give to buyers."""
    session = get_session()
    kept = bank_transfer.account(session)
    form = BankTransferAccountForm(obj=kept if request.method == "GET" else None)
    if form.validate_on_submit():
        bank_transfer.save_account(
            session=session, account_name=form.account_name.data,
            bank_name=form.bank_name.data, account_number=form.account_number.data,
            note=form.note.data or "", by_user_id=current_user.id)
        # Where buyers send money: who changed it matters, the number stays out of the trail.
        record(session, actor=current_user.id, action="bank_account.change",
               subject_type="bank_transfer_account",
               subject_id=bank_transfer.ACCOUNT_ID)
        flash(_("The bank account is saved. Order pages and mails show it from now on."),
              "success")
        return redirect(url_for("shop.operator_bank_transfer"))
    return render_template("shop/operator_bank_transfer.html", form=form, account=kept), (
        400 if form.errors else 200)
