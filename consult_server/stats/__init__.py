"""Figures for supervisors and the health department: consults by month, facility,
level and specialty."""
