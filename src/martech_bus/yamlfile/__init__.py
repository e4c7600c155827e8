"""Strict, safe YAML with positions: every hand-written YAML file goes through here."""
