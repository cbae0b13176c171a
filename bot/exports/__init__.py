"""Exports, telegram-free: residents' tips as CSV and GeoJSON (`reports`), police alerts as CAP 1.2
(`cap`), and the service that streams both out of the database (`service`)."""
