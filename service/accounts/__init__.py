"""People: users and roles, API tokens, desk passwords and sign-in. No Flask here."""
