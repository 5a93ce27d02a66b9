"""Scheduled jobs: when they are due, claiming a due run by lease, running it, recording the outcome."""
