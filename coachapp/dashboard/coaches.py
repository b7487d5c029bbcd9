"""The owner manages coaches: add, deactivate, reset a password."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from coachapp.coaches import CoachData, CoachError, create_coach, set_active, set_password
from coachapp.dashboard import bp
from coachapp.dashboard.access import require_owner
from coachapp.extensions import db
from coachapp.models import SERVICES, Coach
from coachapp.public.forms import MultiCheckboxField, choices, time_zone_choices


class CoachForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Enter a name."), Length(max=120)])
    email = EmailField("Email", validators=[DataRequired("Enter an email."), Length(max=254)])
    time_zone = SelectField("Time zone", choices=[])
    hours = StringField("Working hours", default="mon-fri 09:00-17:00",
                        description="e.g. 'mon-fri 09:00-12:00 13:00-18:00; sat 08:00-11:00' (their time zone)")
    services = MultiCheckboxField("Covers", choices=choices(list(SERVICES.items())))
    in_person = BooleanField("Coaches in person", default=True)
    online = BooleanField("Coaches online", default=True)
    is_owner = BooleanField("Owner (sees everything, gets uncovered leads)")
    password = PasswordField("Initial password", validators=[DataRequired("Set an initial password.")],
                             description="At least 12 characters; share it privately.")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.time_zone.choices = time_zone_choices()


@bp.route("/coaches", methods=["GET", "POST"])
def coaches() -> Response | str | tuple[str, int]:
    require_owner(current_user)
    form = CoachForm()
    if request.method == "GET":
        form.time_zone.data = current_user.time_zone
        form.services.data = list(SERVICES)
    elif form.validate_on_submit():
        data = CoachData(name=form.name.data, email=form.email.data, time_zone=form.time_zone.data,
                         hours=form.hours.data, services=form.services.data or [], in_person=form.in_person.data,
                         online=form.online.data, is_owner=form.is_owner.data, password=form.password.data)
        try:
            coach = create_coach(data)
        except CoachError as exc:
            db.session.rollback()
            getattr(form, exc.field).errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"{coach.name} can now sign in.", "ok")
            return redirect(url_for(".coaches"))
    status = 422 if request.method == "POST" else 200
    rows = db.session.execute(select(Coach).order_by(Coach.active.desc(), Coach.name)).scalars().all()
    return render_template("dashboard/coaches.html", form=form, coaches=rows), status


@bp.post("/coaches/<int:coach_id>/active")
def coach_active(coach_id: int) -> Response:
    require_owner(current_user)
    coach = db.get_or_404(Coach, coach_id)
    try:
        set_active(coach, request.form.get("active") == "1", by=current_user)
    except CoachError as exc:
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(f"{coach.name} is now {'active' if coach.active else 'inactive'}.", "ok")
    return redirect(url_for(".coaches"))


@bp.post("/coaches/<int:coach_id>/password")
def coach_password(coach_id: int) -> Response:
    require_owner(current_user)
    coach = db.get_or_404(Coach, coach_id)
    try:
        set_password(coach, request.form.get("password", ""))
    except CoachError as exc:
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(f"New password set for {coach.name}; their old sessions ended.", "ok")
    return redirect(url_for(".coaches"))
