"""Sign-in sessions for live crawls: storage, cookie formats, readiness, pacing and their middleware."""
