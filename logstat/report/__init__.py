"""Report model (plain data) and its views (terminal, JSON)."""
