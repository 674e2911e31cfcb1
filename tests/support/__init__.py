"""Helpers shared by the tests: real servers, real engines, known pictures."""
