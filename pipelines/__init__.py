"""emberline: AI-incident post-mortems in, recurring themes out."""
