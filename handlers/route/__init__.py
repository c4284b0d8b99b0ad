"""«Мой маршрут (ИОМ)»: the individual route of a teacher."""
