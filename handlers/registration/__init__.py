"""Start, consent to data processing, registration and the profile."""
