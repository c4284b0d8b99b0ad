"""SQLAlchemy 2 typed models. Importing this package registers every table."""

from models.base import Base, utcnow
from models.fsm import FsmRecord
from models.people import (
    Municipality,
    Role,
    RoleName,
    School,
    SchoolKind,
    ScopeKind,
    User,
    UserSubject,
)
from models.surveys import Answer, Attempt, AttemptStatus, InstrumentVersion, ScaleResult

__all__ = [
    "Answer",
    "Attempt",
    "AttemptStatus",
    "Base",
    "FsmRecord",
    "InstrumentVersion",
    "Municipality",
    "Role",
    "RoleName",
    "ScaleResult",
    "School",
    "SchoolKind",
    "ScopeKind",
    "User",
    "UserSubject",
    "utcnow",
]
