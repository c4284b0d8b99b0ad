"""Questionnaires as data: the schema, the engine and the scoring (pure functions)."""
