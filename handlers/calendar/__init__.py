"""An inline month calendar to pick a date, for any feature (callbacks.py and screens.py)."""
