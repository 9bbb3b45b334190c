"""Front-desk panel views."""

from flask import redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from lobby.domain import waits
from lobby.domain.settings import clinic_day, get_settings
from lobby.domain.visits import queue_of_day
from lobby.extensions import db
from lobby.models import Staff

from . import bp
from .events import end_staff_sockets


@bp.route("/login", methods=["GET", "POST"], endpoint="login")
def login():
    error = None
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        staff = db.session.scalars(select(Staff).where(Staff.username == username)).first()
        if staff is not None and staff.active and staff.check_password(request.form.get("password", "")):
            login_user(staff)
            return redirect(url_for("admin.index"))
        error = True
    return render_template("admin/login.html", error=error, settings=get_settings(db.session))


@bp.post("/logout", endpoint="logout")
@login_required
def logout():
    staff_id = current_user.id
    logout_user()
    end_staff_sockets(staff_id)
    return redirect(url_for("admin.login"))


@bp.get("/", endpoint="index")
@login_required
def index():
    snapshot = waits.snapshot(db.session)
    queued = queue_of_day(db.session, clinic_day(db.session))
    return render_template("admin/index.html", visits=queued, snapshot=snapshot,
                           settings=get_settings(db.session), me=current_user)
