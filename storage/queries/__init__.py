"""The read model: query functions that take a session and never commit."""
