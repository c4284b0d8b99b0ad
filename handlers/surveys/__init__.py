"""Questionnaires: the list, one question per message, results and history."""
