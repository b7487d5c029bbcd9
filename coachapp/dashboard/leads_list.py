"""The leads list, its filters and the CSV export (being built)."""
