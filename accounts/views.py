"""Sign-up, sign-in, password reset and the user's own profiles."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlmodel import select

from accounts import consent, services
from accounts.access import roles_required
from accounts.auth import make_reset_token, password_matches, user_for_reset_token
from accounts.forms import (
    AccountForm,
    ForgotPasswordForm,
    HostProfileForm,
    LoginForm,
    MakerProfileForm,
    RegistrationForm,
    ResetPasswordForm,
)
from accounts.models import HostCapability, HostProfile, MakerProfile, Role
from core import timezones
from core.db import get_session, utcnow
from core.forms import form_view
from core.i18n import current_locale_name, safe_next_url
from core.mail import queue_mail
from core.rate_limits import client_address, count_tries, minutes_to_wait
from core.written import written_message

bp = Blueprint("accounts", __name__, url_prefix="/account")


def _form_page(template: str, form, status: int | None = None, **context):
    """Render a form page; a failed submit answers 400 so nothing is committed."""
    status = status or (400 if form.errors else 200)
    return render_template(template, form=form, **context), status


def _too_many_tries(field, minutes: int) -> None:
    field.errors = [_("You have tried too many times. Wait %(minutes)d minutes, then try "
                      "again.", minutes=minutes)]


@bp.route("/register", methods=["GET", "POST"])
@form_view
def register():
    """Create a shopper account."""
    form = RegistrationForm()
    if form.validate_on_submit():
        tries = {"new-accounts-from-address": client_address()}
        if minutes := minutes_to_wait(tries):
            _too_many_tries(form.email, minutes)
            return _form_page("accounts/register.html", form, status=429)
        try:
            user = services.register_user(
                session=get_session(), email=form.email.data, password=form.password.data,
                display_name=form.display_name.data, phone=form.phone.data,
                locale=current_locale_name())
        except services.DuplicateAccount as exc:
            field = form.phone if exc.field == "phone" else form.email
            field.errors = [_("An account with this mobile number already exists. Sign in "
                              "instead.") if exc.field == "phone" else
                            _("An account with this email address already exists. Sign in "
                              "instead.")]
        else:
            count_tries(tries)
            login_user(user)
            flash(written_message(_("Welcome, %(name)s. Your account is ready."),
                                  name=user.display_name), "success")
            return redirect(url_for("catalog.home"))
    return _form_page("accounts/register.html", form)


@bp.route("/login", methods=["GET", "POST"])
@form_view
def login():
    """Sign in with e-mail or mobile number and password."""
    form = LoginForm()
    next_url = safe_next_url(request.args.get("next"), url_for("catalog.home"))
    if form.validate_on_submit():
        # Wrong passwords are counted per address and per account; while either has
        # too many, no password is even checked.
        session = get_session()
        user = services.find_user_by_login(session=session, login=form.login.data)
        account = f"user-{user.id}" if user else form.login.data.strip().lower()
        tries = {"sign-in-failures-from-address": client_address(),
                 "sign-in-failures-for-account": account}
        if minutes := minutes_to_wait(tries):
            _too_many_tries(form.password, minutes)
            return _form_page("accounts/login.html", form, status=429)
        if password_matches(user, form.password.data) and user.is_active:
            user.last_login_at = utcnow()
            session.add(user)
            login_user(user, remember=form.remember.data)
            flash(_("You are signed in."), "success")
            return redirect(next_url)
        count_tries(tries)
        # The same words whether the account exists or not.
        form.password.errors = [_("The email address, mobile number or password is not "
                                  "right")]
    return _form_page("accounts/login.html", form)


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign out (a POST, so a link on another site cannot sign you out)."""
    logout_user()
    flash(_("You are signed out."), "success")
    return redirect(url_for("catalog.home"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@form_view
def forgot_password():
    """Send a reset link; the answer is the same whether the account exists or not."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        # Each request may send a mail: limit them per address and per mailbox, whether
        # or not the account exists (so the limit tells nobody which addresses do).
        session = get_session()
        user = services.find_user_by_login(session=session, login=form.email.data)
        tries = {"reset-mails-from-address": client_address(),
                 "reset-mails-for-account": form.email.data.strip().lower()}
        if minutes := minutes_to_wait(tries):
            _too_many_tries(form.email, minutes)
            return _form_page("accounts/forgot_password.html", form, status=429)
        count_tries(tries)
        if user is not None and user.is_active:
            # The shop's own address, never the request's Host header: a forged Host
            # would otherwise send the owner a link that gives the token to someone else.
            link = current_app.config["BASE_URL"] + url_for(
                "accounts.reset_password", token=make_reset_token(user))
            queue_mail(session=session, to=user.email, subject=_("Reset your password"),
                       body=render_template("accounts/mail/reset_password.txt", user=user,
                                            link=link))
        return render_template("accounts/forgot_password_sent.html", email=form.email.data)
    return _form_page("accounts/forgot_password.html", form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@form_view
def reset_password(token: str):
    """Choose a new password with an emailed token (it works once, for an hour)."""
    user = user_for_reset_token(token)
    if user is None:
        return render_template("accounts/reset_link_invalid.html"), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        services.set_password(session=get_session(), user=user, password=form.password.data)
        flash(_("Your password has been changed. Sign in with the new one."), "success")
        return redirect(url_for("accounts.login"))
    return _form_page("accounts/reset_password.html", form)


@bp.route("/", methods=["GET", "POST"])
@login_required
@form_view
def account():
    """The user's own name, language and time zone."""
    form = AccountForm(obj=current_user)
    form.timezone.offer(include=current_user.timezone)
    if request.method == "GET":
        form.timezone.data = timezones.user_zone_name(current_user)
    if form.validate_on_submit():
        current_user.display_name = form.display_name.data.strip()
        current_user.locale = form.locale.data
        current_user.timezone = form.timezone.data
        get_session().add(current_user)
        flash(_("Your details have been saved."), "success")
        response = redirect(url_for("accounts.account"))
        response.set_cookie("lang", form.locale.data, max_age=365 * 24 * 3600,
                            samesite="Lax", httponly=True,
                            secure=current_app.config["SESSION_COOKIE_SECURE"])
        # This browser follows the account's choice at once (the cookie comes first).
        return timezones.set_zone_cookie(response, form.timezone.data)
    return _form_page("accounts/account.html", form)


@bp.route("/maker-profile", methods=["GET", "POST"])
@roles_required(Role.MAKER)
@form_view
def maker_profile():
    """What the maker chooses to tell shoppers."""
    session = get_session()
    profile = session.get(MakerProfile, current_user.id)
    form = MakerProfileForm(obj=profile)
    form.consent_in_force = consent.open_consent(session, current_user.id) is not None
    if form.validate_on_submit():
        services.save_maker_profile(
            session=session, user=current_user, public_name=form.public_name.data.strip(),
            story=form.story.data or "", show_name_publicly=form.show_name_publicly.data,
            show_story_publicly=form.show_story_publicly.data,
            disability_consent=form.disability_consent.data,
            disability_category=form.disability_category.data or None)
        flash(_("Your maker profile has been saved."), "success")
        return redirect(url_for("accounts.maker_profile"))
    return _form_page("accounts/maker_profile.html", form,
                      disability_consent=consent.open_consent(session, current_user.id))


@bp.route("/host-profile", methods=["GET", "POST"])
@roles_required(Role.HOST)
@form_view
def host_profile():
    """The host's public name and whether they present in sign language."""
    session = get_session()
    profile = session.get(HostProfile, current_user.id)
    form = HostProfileForm(obj=profile)
    if form.validate_on_submit():
        services.save_host_profile(session=session, user=current_user,
                                   public_name=form.public_name.data.strip(),
                                   bio=form.bio.data or "", is_deaf=form.is_deaf.data)
        flash(_("Your host profile has been saved."), "success")
        return redirect(url_for("accounts.host_profile"))
    capabilities = session.exec(select(HostCapability).where(
        HostCapability.user_id == current_user.id).order_by(HostCapability.role)).all()
    return _form_page("accounts/host_profile.html", form, capabilities=capabilities)
