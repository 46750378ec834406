"""Contacts in the canonical file format of rules.md section 2 (pure parsing)."""
