"""«📄 Аналитическая справка»: the analytic report of a methodist's scope as a DOCX document."""
