"""Staff sign-in and sign-out."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from portal import access, throttle
from portal.errors import PortalError, render_error

bp = Blueprint("auth", __name__)


class SignInForm(FlaskForm):
    """E-mail and password; the form carries its own CSRF token."""

    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])

    class Meta(FlaskForm.Meta):
        def wrap_formdata(self, form: Any, formdata: Any) -> Any:
            """The form fields of the body, nothing else.

            Flask-WTF would also read file parts (a password as a FileStorage: a 500 in
            Length) and JSON bodies, which the per-account throttle, keyed on
            `request.form`, would not see: a second path around it. One source for both."""
            return request.form if request.method == "POST" else None


@bp.route("/signin", methods=["GET", "POST"])
def signin() -> Any:
    """Show the sign-in form; on success go where the user was heading."""
    target = _safe_next(request.args.get("next"))
    principal = access.shown_principal()
    if principal is not None and principal.is_staff:
        if request.method == "POST":
            throttle.refund()  # already signed in (a second tab): no password was checked
        return redirect(target)
    form = SignInForm()
    if request.method != "POST":
        return render_template("auth/signin.html", form=form)
    if form.validate_on_submit():
        if access.sign_in(form.email.data or "", form.password.data or ""):
            throttle.refund()  # only wrong passwords count
            return redirect(target)
        return _again(form, _l("The e-mail or password is wrong."), 401)
    throttle.refund()  # no password was checked
    return _again(form, _why_not(form), 400)


def _why_not(form: SignInForm) -> LazyString:
    """What to do about a form that did not validate, in plain words."""
    if "csrf_token" in form.errors:
        return _l(
            "The sign-in form had expired (or your browser did not send its cookie), so nothing "
            "was checked. Enter your e-mail and password again."
        )
    if not (form.email.data or "").strip() or not form.password.data:
        return _l("Enter your e-mail address and your password.")
    return _l("Check your e-mail address and password (an e-mail is at most 254 characters).")


def _again(form: SignInForm, message: str | LazyString, status: int) -> Any:
    flash(message, "error")
    return render_template("auth/signin.html", form=form), status


def _on_error(err: PortalError) -> Any:
    """Throttled sign-ins see the form again with what to do; other errors the usual page."""
    if err.code != "too_many_requests" or request.endpoint != "auth.signin":
        return render_error(err)
    resp = _again(SignInForm(), err.message, 429)
    return resp[0], 429, {"Retry-After": str(max(1, round(err.retry_after or 60)))}


bp.register_error_handler(PortalError, _on_error)


@bp.post("/signout")
def signout() -> Any:
    """End the staff session everywhere (a POST: access checks its CSRF token first)."""
    access.sign_out()
    flash(_l("You are signed out."), "info")
    return redirect(url_for("auth.signin"))


def _safe_next(target: str | None) -> str:
    """Only a path on this site; anything else goes home.

    Checked on the parsed form and on the raw text: no scheme, no host, no backslash (browsers
    read it as a slash), no control character (browsers drop tabs and newlines, so
    `/\\t/evil.example` would become `//evil.example`), and no `//` at the start."""
    home = url_for("pages.home")
    if not target or len(target) > 2048 or not target.startswith("/"):
        return home
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in target) or "\\" in target:
        return home
    if target.startswith("//"):
        return home
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return home
    return target
