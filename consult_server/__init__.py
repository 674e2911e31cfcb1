"""consult-server: WebRTC video consultations for remote diagnosis."""
