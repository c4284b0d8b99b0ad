"""«⚙️ Настройки»: the reminder kinds a teacher gets, and the reminder messages themselves."""
