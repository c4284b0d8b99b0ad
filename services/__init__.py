"""Domain logic without aiogram: people, schools, roles, questionnaires, exports."""
