"""Lead services: one person is one lead; submissions and events hang off it."""
