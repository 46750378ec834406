"""The legal model of rules.md as pure functions: legal basis, content checks, sending calendar."""
