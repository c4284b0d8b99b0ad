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

YOUNG_MAX_AGE = 35  # «молодой педагог»: younger than 35 ...
YOUNG_MAX_YEARS = 3  # ... and at most 3 years of teaching
