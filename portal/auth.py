"""Staff sign-in and sign-out."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from portal import access

bp = Blueprint("auth", __name__)


class SignInForm(FlaskForm):
    """E-mail and password; the form carries its own CSRF token."""

    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


class SignOutForm(FlaskForm):
    """Only the CSRF token: signing out is a state change, so it is a POST."""


@bp.route("/signin", methods=["GET", "POST"])
def signin() -> Any:
    """Show the sign-in form; on success go where the user was heading."""
    form = SignInForm()
    status = 200
    if form.validate_on_submit():
        if access.sign_in(form.email.data or "", form.password.data or ""):
            return redirect(_safe_next(request.args.get("next")))
        flash("The e-mail or password is wrong.", "error")
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/signin.html", form=form), status


@bp.post("/signout")
def signout() -> Any:
    """End the staff session."""
    form = SignOutForm()
    if form.validate_on_submit():
        session.clear()
        flash("You are signed out.", "info")
    return redirect(url_for("auth.signin"))


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no host, no //evil.example)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return url_for("pages.home")
