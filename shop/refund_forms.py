"""The operator's refund form: how much to give back, why, and how many units of each
line of the order go back in stock (never more than are left to put back)."""

from __future__ import annotations

import re

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

from core.forms import Form
from shop.forms import money_amount
from shop.refunds import units_left_to_restock


class RefundForm(Form):
    """How much to give back, why, and how many of each line go back in stock (a field
    `line_<id>` per line of the order: build it with `refund_form`)."""

    amount = StringField(_l("Amount to refund, in yuan"), validators=[
        DataRequired(_l("Enter the amount to refund")), Length(max=20), money_amount])
    reason = StringField(_l("Reason"), validators=[
        DataRequired(_l("Enter the reason for the refund")),
        Length(max=300, message=_l("Reason must be 300 characters or fewer"))])
    # Never shown as an input: holds the message about lines that are not the order's.
    lines = HiddenField("")

    order_lines: list = []

    def line_fields(self) -> list[tuple]:
        """(order line, its field, units left to put back) for each line, in order."""
        return [(line, self[f"line_{line.id}"], units_left_to_restock(line))
                for line in self.order_lines]

    def restock_units(self) -> dict[int, int]:
        """Line id -> units to put back, for the lines given more than none."""
        return {line.id: field.units for line, field, _left in self.line_fields()
                if field.units}

    def validate_lines(self, field):
        known = {f"{self._prefix}line_{line.id}" for line in self.order_lines}
        if any(name.startswith(f"{self._prefix}line_") and name not in known
               for name in request.form):
            raise ValidationError(_l("Choose only lines of this order to put back in stock"))


def _units_to_put_back(most: int):
    def check(form, field):
        text = (field.data or "").strip()
        field.units = 0
        if not text:
            return
        if not re.fullmatch(r"[0-9]{1,6}", text) or int(text) > most:
            if most == 0:
                raise ValidationError(_("None of this line is left to put back in stock"))
            raise ValidationError(_("Enter a whole number from 0 to %(most)d", most=most))
        field.units = int(text)
    return check


def refund_form(order_lines, **kwargs) -> RefundForm:
    """The refund form of an order with these lines."""
    fields = {f"line_{line.id}": StringField(
        _l("Units to put back in stock"), default="0",
        validators=[_units_to_put_back(units_left_to_restock(line))]) for line in order_lines}
    form_class = type("OrderRefundForm", (RefundForm,), fields)
    form = form_class(prefix="refund", **kwargs)
    form.order_lines = list(order_lines)
    return form


