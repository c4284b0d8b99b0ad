"""«📣 Кампании»: survey campaigns of the methodist's scope, the «Новая кампания» dialog, a
campaign's card (progress by school, extend, close) and the calendar offer's «Запустить»."""
