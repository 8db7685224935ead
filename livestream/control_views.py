"""The host's control room: only the session's presenter, interpreters, captioner and
assistants, and operators, reach it. Every action is a plain form that works without
JavaScript; with it, the quick ones (pins, answers, captions) are sent in the
background and the page changes by the room's events."""

from __future__ import annotations

from flask import current_app, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import select

from core.audit import record
from core.db import get_session, utcnow
from core.errors import DomainError, NotAllowed, wants_json
from core.events import bus
from core.forms import form_view
from core.money import Money
from core.written import written_message
from livestream import chat, live_prices, room
from livestream.live_prices import channel, running_prices
from livestream.models import LiveSession, SessionStatus
from livestream.room_forms import (
    AnswerForm,
    BlockedWordForm,
    CaptionForm,
    LivePriceForm,
    PinForm,
    StreamsForm,
)
from livestream.room_models import LiveMessage, LiveMute
from livestream.room_state import running_figures
from livestream.views import _visible_session, bp


def _control(slug: str, need: str = "enter") -> tuple[LiveSession, room.RoomAccess]:
    """The session and the signed-in person's access, or a clear refusal."""
    if not current_user.is_authenticated:
        raise _SignInFirst()
    live = _visible_session(slug)
    access = room.room_access(session=get_session(), live=live, user=current_user)
    if not getattr(access, need):
        if not access.enter:
            raise NotAllowed(_("This control room is for the stream's team and operators."))
        raise NotAllowed(_("Your part in this stream does not include this."))
    return live, access


class _SignInFirst(Exception):
    """Not signed in: go to the sign-in page and come back."""


@bp.errorhandler(_SignInFirst)
def _sign_in_first(_error):
    return current_app.login_manager.unauthorized()


def _lineup_choices(lineup) -> tuple[list, list]:
    from core.forms import written_choices
    from core.written import as_written

    products = written_choices([(str(p.id), as_written(p, "title")) for p, _v in lineup])
    versions = []
    for product, variants in lineup:
        for variant in variants:
            name = as_written(product, "title").text
            version = as_written(variant, "name").text
            label = _("%(name)s — %(price)s, %(stock)d in stock", name=(
                _("%(title)s (%(version)s)", title=name, version=version) if version
                else name), price=Money(variant.price_amount, variant.price_currency).format(),
                stock=variant.stock)
            versions.append((str(variant.id), label))
    return products, written_choices(versions)


def control_page(live: LiveSession, access: room.RoomAccess, status: int = 200, **forms):
    """The control room now, with any form that failed shown with its errors."""
    from livestream.edge_views import control_edge_context

    session = get_session()
    lineup = room.lineup(session=session, live_id=live.id)
    product_choices, version_choices = _lineup_choices(lineup)
    pin_form = forms.get("pin_form") or PinForm(formdata=None)
    pin_form.product_id.choices = product_choices
    price_form = forms.get("price_form") or LivePriceForm(formdata=None)
    price_form.variant_id.choices = version_choices
    pin = room.current_pin(session, live.id)
    if pin and "price_form" not in forms:
        # A live price ready to start for the product shown: a fifth off, a few each.
        first = next((v for p, vs in lineup if p.id == pin.product_id for v in vs
                      if v.stock > 0), None)
        if first is not None:
            price_form.variant_id.data = str(first.id)
            price_form.price.data = str(Money(first.price_amount * 8 // 1000 * 100,
                                              first.price_currency).decimal)
            price_form.quantity_limit.data = min(20, first.stock)
            price_form.per_buyer_limit.data = min(2, first.stock)
    now = utcnow()
    messages = session.exec(select(LiveMessage).where(
        LiveMessage.session_id == live.id, LiveMessage.hidden_at.is_(None))
        .order_by(LiveMessage.answered_at.is_not(None), LiveMessage.id.desc())
        .limit(100)).all()
    muted = {m.user_id for m in session.exec(select(LiveMute).where(
        LiveMute.session_id == live.id)).all()}
    failed = [form for form in forms.values() if form is not None and form.errors]
    return render_template(
        "livestream/control.html", live=live, access=access, lineup=lineup, pin=pin,
        pin_form=pin_form, price_form=price_form,
        caption_form=forms.get("caption_form") or CaptionForm(formdata=None),
        word_form=forms.get("word_form") or BlockedWordForm(formdata=None),
        streams_form=forms.get("streams_form") or StreamsForm(formdata=None, obj=live),
        answer_form=AnswerForm(formdata=None), messages=messages, muted=muted,
        prices=running_prices(session, live.id, now),
        words=chat.word_list(session, live.workshop_id) if access.run else [],
        figures=running_figures(session=session, live=live,
                                viewers_now=bus().connected(channel(live.id))),
        position=bus().latest_id(channel(live.id)), failed_form=failed[0] if failed else None,
        has_errors=bool(failed),
        readiness=_readiness(session, live), now=now,
        **control_edge_context(live, access)), status


def _readiness(session, live):
    from livestream.lifecycle import readiness

    return readiness(session=session, live=live) if live.status == SessionStatus.SCHEDULED \
        else []


def _done(live: LiveSession, message, anchor: str = ""):
    """Answer a control-room action: JSON for the page's script, else back to the page."""
    if wants_json():
        return jsonify({"ok": True, "message": str(message)})
    flash(message, "success")
    return redirect(url_for("livestream.control_room", slug=live.slug) + anchor, code=303)


def _audit(action: str, subject_type: str, subject_id, **details) -> None:
    """The team member's or operator's action, saved with it (core/audit.py)."""
    record(get_session(), actor=current_user.id, action=action, subject_type=subject_type,
           subject_id=subject_id, details=details)


def _refused(live, access, error: DomainError, **forms):
    """Undo what the action began and say why: as JSON, or on the page with the form."""
    get_session().rollback()
    if wants_json():
        return jsonify({"error": {"code": error.code, "message": str(error.message),
                                  "field": getattr(error, "field", None)}}), error.status_code
    if not forms:
        flash(str(error.message), "error")
        return redirect(url_for("livestream.control_room", slug=live.slug), code=303)
    for form in forms.values():
        field = getattr(error, "field", None)
        target = getattr(form, field, None) if field else None
        if target is None:  # the message belongs to the form's first question
            target = next(f for f in form if f.name != "csrf_token")
        target.errors = [*target.errors, str(error.message)]
    return control_page(live, access, 400, **forms)


def _invalid(live, access, **forms):
    """A form that failed its own checks: its errors, as JSON or on the page."""
    get_session().rollback()
    if wants_json():
        form = next(iter(forms.values()))
        return jsonify({"error": {"code": "invalid", "message": str(form.error_list()[0][1]),
                                  "fields": {name: [str(m) for m in messages]
                                             for name, messages in form.errors.items()}}}), 400
    return control_page(live, access, 400, **forms)


@bp.route("/live/<slug>/control")
def control_room(slug: str):
    """The control room."""
    live, access = _control(slug)
    return control_page(live, access)


@bp.route("/live/<slug>/control/figures.json")
def control_figures(slug: str):
    """Running figures for the control room's script: orders, sales, questions, viewers."""
    from livestream.edge import edge_status

    live, _access = _control(slug)
    session = get_session()
    figures = running_figures(session=session, live=live,
                              viewers_now=bus().connected(channel(live.id)))
    return jsonify({**figures, "edge": edge_status(session=session, live=live)})


@bp.route("/live/<slug>/control/go-live", methods=["POST"])
def control_go_live(slug: str):
    """Start the stream."""
    live, access = _control(slug, "run")
    try:
        room.go_live(session=get_session(), live=live)
    except DomainError as error:
        return _refused(live, access, error)
    _audit("live_session.go_live", "live_session", live.id)
    return _done(live, _("You are live. Viewers can see the room now."))


@bp.route("/live/<slug>/control/end", methods=["POST"])
def control_end(slug: str):
    """End the stream; the page becomes its replay."""
    live, access = _control(slug, "run")
    try:
        room.end(session=get_session(), live=live)
    except DomainError as error:
        return _refused(live, access, error)
    _audit("live_session.end", "live_session", live.id)
    return _done(live, _("The stream has ended. Its page is now the replay."))


@bp.route("/live/<slug>/control/pin", methods=["POST"])
@form_view
def control_pin(slug: str):
    """Show one product of the line-up now."""
    live, access = _control(slug, "run")
    form = PinForm()
    form.product_id.choices = []
    if not form.validate_on_submit() or form.product() is None:
        if not form.errors:
            form.product_id.errors = [_("Choose a product to show")]
        return _invalid(live, access, pin_form=form)
    try:
        pin = room.pin_product(session=get_session(), live=live, product_id=form.product(),
                               by_user_id=current_user.id)
    except DomainError as error:
        error.field = "product_id"
        return _refused(live, access, error, pin_form=form)
    from catalog.models import Product
    from core.written import as_written

    name = as_written(get_session().get(Product, pin.product_id), "title")
    return _done(live, written_message(_("Showing now: %(name)s"), name=name), "#control-pin")


@bp.route("/live/<slug>/control/unpin", methods=["POST"])
def control_unpin(slug: str):
    """Show no product for now."""
    live, access = _control(slug, "run")
    try:
        room.unpin(session=get_session(), live=live)
    except DomainError as error:
        return _refused(live, access, error)
    return _done(live, _("No product is shown now."), "#control-pin")


@bp.route("/live/<slug>/control/price", methods=["POST"])
@form_view
def control_price(slug: str):
    """Start a live price."""
    live, access = _control(slug, "run")
    form = LivePriceForm()
    form.variant_id.choices = []
    if not form.validate_on_submit() or form.variant() is None:
        if not form.errors:
            form.variant_id.errors = [_("Choose a product")]
        return _invalid(live, access, price_form=form)
    try:
        price = live_prices.start_live_price(
            session=get_session(), live=live, variant_id=form.variant(),
            price_amount=form.price_fen(), quantity_limit=form.quantity_limit.data,
            per_buyer_limit=form.per_buyer_limit.data, seconds=form.seconds.data,
            by_user_id=current_user.id)
    except DomainError as error:
        return _refused(live, access, error, price_form=form)
    return _done(live, _("The live price %(price)s has started, %(n)d at this price.",
                         price=Money(price.price_amount, price.currency).format(),
                         n=price.quantity_limit), "#control-price")


@bp.route("/live/<slug>/control/price/<int:price_id>/stop", methods=["POST"])
def control_price_stop(slug: str, price_id: int):
    """Stop a live price now."""
    live, access = _control(slug, "run")
    try:
        live_prices.stop_live_price(session=get_session(), live=live, price_id=price_id)
    except DomainError as error:
        return _refused(live, access, error)
    return _done(live, _("The live price has stopped."), "#control-price")


@bp.route("/live/<slug>/control/messages/<int:message_id>/answer", methods=["POST"])
@form_view
def control_answer(slug: str, message_id: int):
    """Answer a question in text, or mark it answered."""
    live, access = _control(slug, "moderate")
    form = AnswerForm()
    if not form.validate_on_submit():
        return _invalid(live, access, answer_form=form)
    try:
        chat.answer_message(session=get_session(), live=live, message_id=message_id,
                            answer=form.answer.data, by_user_id=current_user.id)
    except DomainError as error:
        return _refused(live, access, error)
    return _done(live, _("The answer is in the room."), "#control-qa")


@bp.route("/live/<slug>/control/messages/<int:message_id>/hide", methods=["POST"])
def control_hide(slug: str, message_id: int):
    """Take a message out of every room."""
    live, access = _control(slug, "moderate")
    try:
        hidden = chat.hide_message(session=get_session(), live=live, message_id=message_id,
                                   by_user_id=current_user.id)
    except DomainError as error:
        return _refused(live, access, error)
    if hidden:
        _audit("chat.hide", "live_message", message_id, live_session_id=live.id)
    return _done(live, _("The message is hidden from everyone."), "#control-qa")


@bp.route("/live/<slug>/control/messages/<int:message_id>/mute", methods=["POST"])
def control_mute(slug: str, message_id: int):
    """Stop the message's author from posting in this stream."""
    live, access = _control(slug, "moderate")
    try:
        muted = chat.mute_author(session=get_session(), live=live, message_id=message_id,
                                 by_user_id=current_user.id)
    except DomainError as error:
        return _refused(live, access, error)
    if muted:
        author_id = get_session().get(LiveMessage, message_id).user_id
        _audit("chat.mute", "user", author_id, live_session_id=live.id, message_id=message_id)
    return _done(live, _("That viewer can no longer post in this stream."), "#control-qa")


@bp.route("/live/<slug>/control/caption", methods=["POST"])
@form_view
def control_caption(slug: str):
    """Send one line of live captions."""
    live, access = _control(slug, "caption")
    form = CaptionForm()
    if not form.validate_on_submit():
        return _invalid(live, access, caption_form=form)
    try:
        room.add_caption(session=get_session(), live=live, text=form.text.data,
                         by_user_id=current_user.id)
    except DomainError as error:
        error.field = "text"
        return _refused(live, access, error, caption_form=form)
    return _done(live, _("Caption sent."), "#control-captions")


@bp.route("/live/<slug>/control/blocked-words", methods=["POST"])
@form_view
def control_block_word(slug: str):
    """Add a word to the shop's blocked words."""
    live, access = _control(slug, "run")
    form = BlockedWordForm()
    if not form.validate_on_submit():
        return _invalid(live, access, word_form=form)
    try:
        word = chat.add_blocked_word(session=get_session(), workshop_id=live.workshop_id,
                                     word=form.word.data, by_user_id=current_user.id)
    except DomainError as error:
        return _refused(live, access, error, word_form=form)
    _audit("chat.block_word", "blocked_word", word.id, workshop_id=live.workshop_id)
    return _done(live, _("Messages with that word are refused now."), "#control-words")


@bp.route("/live/<slug>/control/blocked-words/<int:word_id>/remove", methods=["POST"])
def control_unblock_word(slug: str, word_id: int):
    """Take a word off the shop's blocked words."""
    live, access = _control(slug, "run")
    try:
        chat.remove_blocked_word(session=get_session(), workshop_id=live.workshop_id,
                                 word_id=word_id)
    except DomainError as error:
        return _refused(live, access, error)
    _audit("chat.unblock_word", "blocked_word", word_id, workshop_id=live.workshop_id)
    return _done(live, _("The word is allowed again."), "#control-words")


@bp.route("/live/<slug>/control/streams", methods=["POST"])
@form_view
def control_streams(slug: str):
    """Save the interpreter's stream address and the recording's address."""
    live, access = _control(slug, "run")
    form = StreamsForm()
    if not form.validate_on_submit():
        return _invalid(live, access, streams_form=form)
    room.set_stream_addresses(
        session=get_session(), live=live,
        interpreter_stream_url=(form.interpreter_stream_url.data or "").strip(),
        recording_url=(form.recording_url.data or "").strip())
    return _done(live, _("The stream addresses are saved."), "#control-streams")
