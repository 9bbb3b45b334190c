"""The rotation board (轮牌): who is on duty, and the order turns go in."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import DutyStatus, Role, Staff
from . import events
from .audit import Actor, audit


def set_duty(session: Session, staff: Staff, status: DutyStatus, *, actor: Actor) -> Staff:
    """Change a consultant's state on the rotation board."""
    previous = staff.duty_status
    staff.duty_status = status
    audit(session, actor, "duty", None, staff=staff.username, previous=previous.value, status=status.value)
    events.record(session, "staff.duty_changed", staff=staff.username, status=status.value)
    session.flush()
    return staff


def move_on_rotation_board(session: Session, staff_id: int, direction: int, *, actor: Actor) -> bool:
    """Swap a consultant with the one above (-1) or below (+1) on the 轮牌 board; False if unknown."""
    board = list(session.scalars(select(Staff).where(Staff.active, Staff.role == Role.CONSULTANT)
                                 .order_by(Staff.rotation_order, Staff.id)))
    index = next((i for i, member in enumerate(board) if member.id == staff_id), None)
    if index is None:
        return False
    other = index + direction
    if 0 <= other < len(board):
        board[index], board[other] = board[other], board[index]
        for order, member in enumerate(board):
            member.rotation_order = order
        audit(session, actor, "reorder", None, staff=board[other].username)
        events.record(session, "staff.reordered")
        session.flush()
    return True

