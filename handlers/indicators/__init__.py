"""«📈 Показатели»: the methodist's digest of the indicators on demand (text, chart, XLSX)."""
