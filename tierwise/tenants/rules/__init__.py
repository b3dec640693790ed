"""Tiering rules: dimensions, tiers, the rule language, versions, evaluation and assignment."""
