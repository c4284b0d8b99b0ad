"""«🗂 Заявки на наставника»: the methodist's queue of mentoring requests and proposing a mentor."""
