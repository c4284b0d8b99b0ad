"""Consent to data processing: the full text, a new edition asked again, the consent in the
profile (re-read, withdraw) and the separate consent to the burnout questionnaire."""
