"""Leaderboard tables from run directories: LaTeX (booktabs), Markdown, CSV, JSON."""
