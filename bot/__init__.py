"""pedbot: the bot process (configuration, app factory, CLI, locales)."""
