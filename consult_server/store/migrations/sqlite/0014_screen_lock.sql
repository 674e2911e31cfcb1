-- A login's screen can be locked (a shared PC, nobody at it): the login goes on (an
-- on-duty queue still rings), but nothing of a patient is shown or served until its
-- owner's password unlocks it.
ALTER TABLE login_sessions ADD COLUMN locked_at REAL;
