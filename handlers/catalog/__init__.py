"""«📥 Каталог программ»: counts by block, upload a spreadsheet, download the catalog, the sample."""
