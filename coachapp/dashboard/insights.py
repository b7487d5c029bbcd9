"""Insights: the funnel and friends, as server-side SVG (being built)."""
