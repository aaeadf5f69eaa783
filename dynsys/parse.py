"""Safe parsing of formulas (placeholder until implemented)."""
