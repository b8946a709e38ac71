"""Demo data: a small, deterministic campus with students, beds and accounts to try the app with."""
