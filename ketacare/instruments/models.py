"""Models of the instruments app."""
