"""Fixed reference lists. Codes are stored; labels live in the locale files
(``position.<code>``, ``subject.<code>``, ``category.<code>``, ``school_kind.<code>``)."""

from __future__ import annotations

POSITIONS: tuple[str, ...] = (
    "teacher",
    "preschool",
    "extra",
    "psychologist",
    "social",
    "deputy",
    "other",
)

# positions that teach school subjects and are asked which
SUBJECT_POSITIONS: frozenset[str] = frozenset({"teacher"})

SUBJECTS: tuple[str, ...] = (
    "primary",
    "russian",
    "literature",
    "native",
    "math",
    "informatics",
    "physics",
    "chemistry",
    "biology",
    "geography",
    "history",
    "social",
    "english",
    "foreign",
    "music",
    "art",
    "technology",
    "pe",
    "obzr",
    "defect",
)

# competency blocks of the deficits self-assessment (its scales' ``block:`` codes); labels
# are ``block.<code>`` in the locale files
BLOCKS: tuple[str, ...] = ("subject", "methodical", "psychological", "communicative")

# qualification categories after приказ Минпросвещения № 196 of 24.03.2023; «соответствие
# занимаемой должности» is an attestation, not a category (``users.conformity_date``)
CATEGORIES: tuple[str, ...] = ("none", "first", "highest", "methodist", "mentor")
MENTOR_CATEGORY = "mentor"  # «педагог-наставник»

SCHOOL_KINDS: tuple[str, ...] = ("school", "kindergarten", "extra")

# the two settings an instrument or a route step may be written for
PRESCHOOL = "preschool"
SCHOOL = "school"
PRESCHOOL_POSITIONS: frozenset[str] = frozenset({"preschool"})  # воспитатель
PRESCHOOL_KINDS: frozenset[str] = frozenset({"kindergarten"})


def setting_of(position: str | None, school_kind: str | None) -> str:
    """Pre-school staff: a воспитатель (also in a school's pre-school groups) and everyone
    working in a kindergarten (its psychologist, speech therapist, deputy); everyone else
    works in a school setting (schools and organisations of extra education)."""
    if position in PRESCHOOL_POSITIONS or school_kind in PRESCHOOL_KINDS:
        return PRESCHOOL
    return SCHOOL


YOUNG_MAX_AGE = 35  # «молодой педагог»: younger than 35 ...
YOUNG_MAX_YEARS = 3  # ... and at most 3 years of teaching
