"""SQLAlchemy 2 typed models. Importing this package registers every table."""

from models.base import Base, utcnow
from models.development import (
    CatalogItem,
    Course,
    CourseFormat,
    CourseKind,
    Provider,
    Route,
    RouteStatus,
    RouteStep,
    StepKind,
    StepStatus,
)
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
    "CatalogItem",
    "Course",
    "CourseFormat",
    "CourseKind",
    "FsmRecord",
    "InstrumentVersion",
    "Municipality",
    "Provider",
    "Role",
    "RoleName",
    "Route",
    "RouteStatus",
    "RouteStep",
    "ScaleResult",
    "School",
    "SchoolKind",
    "ScopeKind",
    "StepKind",
    "StepStatus",
    "User",
    "UserSubject",
    "utcnow",
]
