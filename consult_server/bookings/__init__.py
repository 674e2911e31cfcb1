"""Booked consults: specialists publish weekly availability; clinicians book a slot."""
