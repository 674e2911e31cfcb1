"""What admins set up in the browser: the referral tree (and, later, accounts)."""
