"""pytest plugin: fixtures live here."""
