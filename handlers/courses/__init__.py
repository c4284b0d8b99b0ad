"""«Мои курсы»: totals and attestation, the list, a course card, adding and editing a course."""
